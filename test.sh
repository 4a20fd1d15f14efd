#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine, then run lint, types and tests.
# Usage: ./test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the tests drive for real: logrotate, rsyslog (the syslog sink's receiver),
# systemd (systemd-analyze verifies the shipped unit; journalctl reads test journals),
# systemd-journal-remote (writes journal files from export format), rsyslog-gnutls and
# openssl (TLS syslog), bsdutils (logger), nats-server (the nats sink's JetStream server).
debs="logrotate rsyslog rsyslog-gnutls systemd systemd-journal-remote openssl bsdutils nats-server"
missing=""
for p in $debs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --no-cache-dir --disable-pip-version-check -e '.[dev]'
# bytecode written once, also where PYTHONDONTWRITEBYTECODE is set (it only stops writing):
# every start would otherwise compile logproc's sources again (~70 ms)
.venv/bin/python -m compileall -q logproc

echo "== ruff";  .venv/bin/ruff check logproc tests
echo "== mypy";  .venv/bin/mypy
echo "== pytest"
export LOGPROC_CMD="$PWD/.venv/bin/logproc"
exec .venv/bin/pytest -q "$@"
