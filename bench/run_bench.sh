#!/usr/bin/env bash
# The side-by-side benchmark (shared/bench/run.py) with this checkout's venv:
# rsyslog, syslog-ng, pybase and logproc on 1,000,000 lines, best of 3, every job.
#
# Usage: bench/run_bench.sh [extra run.py args, e.g. --jobs J3 --logproc-daemon --out r.json]
#
# BENCH_DIR (default: ../shared/bench beside the repo) holds run.py. The peer daemons are
# unpacked by its setup.sh into BENCH_DIR/.peers; when they are missing there (and that folder
# is not ours to write), the bench folder is copied to BENCH_CACHE (default
# /tmp/logproc-bench) and set up there once (apt-get: needs root or sudo).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$ROOT/../shared/bench}"
BENCH_CACHE="${BENCH_CACHE:-/tmp/logproc-bench}"
LINES="${LINES:-1000000}"
REPEAT="${REPEAT:-3}"
SYSTEMS="${SYSTEMS:-rsyslog,syslog-ng,pybase,logproc}"

[ -x "$ROOT/.venv/bin/logproc" ] || {
    python3 -m venv "$ROOT/.venv"
    "$ROOT/.venv/bin/pip" install -q --no-cache-dir --disable-pip-version-check -e "$ROOT[dev]"
}

# installed packages ship bytecode; an editable checkout gets it here (PYTHONDONTWRITEBYTECODE
# would otherwise make every logproc start compile its sources again)
"$ROOT/.venv/bin/python" -m compileall -q "$ROOT/logproc"

if [ ! -x "$BENCH_DIR/.peers/rsyslog/usr/sbin/rsyslogd" ]; then
    mkdir -p "$BENCH_CACHE"
    cp -r "$BENCH_DIR"/. "$BENCH_CACHE"/   # refresh run.py, gen.py, configs; keeps .peers
    chmod -R u+w "$BENCH_CACHE"
    if [ ! -x "$BENCH_CACHE/.peers/rsyslog/usr/sbin/rsyslogd" ]; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO bash "$BENCH_CACHE/setup.sh"
    fi
    BENCH_DIR="$BENCH_CACHE"
fi

exec python3 "$BENCH_DIR/run.py" --lines "$LINES" --systems "$SYSTEMS" --repeat "$REPEAT" \
    --logproc-cmd "$ROOT/.venv/bin/logproc" "$@"
