#!/usr/bin/env bash
# Set up logproc in ./.venv and run it in the foreground on the shipped default config
# (tails this machine's /var/log files to stdout; Ctrl-C stops it gracefully).
# Usage: ./run.sh [extra `logproc run` args, e.g. --once]
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --no-cache-dir --disable-pip-version-check -e .
# bytecode written once, also where PYTHONDONTWRITEBYTECODE is set (it only stops writing):
# every start would otherwise compile logproc's sources again (~70 ms)
.venv/bin/python -m compileall -q logproc
exec .venv/bin/logproc run -c config/logproc.toml "$@"
