"""The command line's exit codes, shared by every command (README "Exit codes")."""

EXIT_OK = 0  # no failing check at or above --fail-on; a worker stopped cleanly
EXIT_GAPS = 1  # gaps found
EXIT_INPUT = 2  # invalid input: inventory, arguments, broker URL, keys
EXIT_INCOMPLETE = 3  # the scan (or a worker) could not do its work: interrupted, unreachable
