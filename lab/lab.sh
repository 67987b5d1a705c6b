#!/bin/sh
# Wrapper: ./lab/lab.sh up [--hosts N] | down | status   (runs `python3 -m lab` from the repo root)
set -eu
cd "$(dirname "$0")/.."
exec python3 -m lab "$@"
