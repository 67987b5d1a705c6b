import sys

from scanner.app.cli import main

sys.exit(main())
