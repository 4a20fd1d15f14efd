"""Whatever `check` accepts, `run` does not crash on (a property, with hypothesis).

Configs are drawn with hostile values where operators and attackers put them: paths with
NUL, `..`, braces, controls and over-long parts; regexes (parser pattern, include/exclude,
redact, multiline start) from a metacharacter-heavy alphabet plus known runaway shapes;
templates; header names and values with controls; URL paths with blanks; numbers at and
past their bounds; time zones; levels. Each config is checked in-process (`check` never
exits the process); one that passes is run for real (`logproc run --once`) on a small
log that includes a hostile line, against a loopback HTTP server, and must:

- exit 0 within the deadline (it has every file it needs: no exit 1 is legitimate here);
- write only JSON lines on stderr, none of them an unexpected-failure event or a traceback.

Examples: LOGPROC_FUZZ_EXAMPLES (default 25 in the suite; run thousands by hand).
"""

from __future__ import annotations

import contextlib
import io
import os
import string
import subprocess
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logproc import cli
from logproc.testing import HttpTestServer, logproc_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

EXAMPLES = int(os.environ.get("LOGPROC_FUZZ_EXAMPLES", "25"))
CRASH_EVENTS = {"a thread ended with an error", "logproc ended with an error",
                "sink write failed unexpectedly, will retry", "consumer failed on a batch"}

_REGEX_ALPHABET = "a()[]{}*+?|^$\\.wdsbzAPZ<>=!:-,0123 é\n"
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_NASTY = st.sampled_from(["", "\0", "\n", "\r\n", "\x1b[2J", "..", "../..", "{", "}", "{source}",
                          "{x}", "{{", "%s", "${", "$${", "é", "a" * 300, "/", "//", " ", "\t"])
_REGEXES = st.one_of(
    st.sampled_from([r"(?P<x>(a+)+)b", r"(a|a)*c", r"\w+ x", r"(?P<message>.*)", r"^\d{4}-",
                     r"(?P<level>\w+) (?P<message>.*)", r"(a)\1", r"(?=x)", "timeout|refused", "^debug$",
                     r"x*", r"(?i)secret=\S+", "[", "(?P<m>", "a{1000}{1000}"]),
    st.text(alphabet=_REGEX_ALPHABET, max_size=24),
)


def _toml_str(value: str) -> str:
    """A TOML basic string holding `value` exactly (controls as \\u escapes)."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _maybe(key: str, value: str | None) -> str:
    return "" if value is None else f"{key} = {value}\n"


_GOOD_REGEXES = st.sampled_from([r"(?P<x>(a+)+)b", r"(a|a)*c", r"\w+ x", r"(?P<message>.*)", r"^\d{4}-",
                                  r"(?P<level>\w+) (?P<message>.*)", "timeout|refused", "^debug$", r"(?i)secret=\S+",
                                  r"(a|aa)+$", r"é+", r"\x1b"])


@st.composite
def configs(draw: st.DrawFn, work: Path, url: str) -> str:
    s = _toml_str

    def often(good: st.SearchStrategy, bad: st.SearchStrategy) -> object:
        """Mostly a value `check` should accept (so `run` gets exercised), sometimes a bad one."""
        return draw(bad) if draw(st.integers(0, 19)) == 0 else draw(good)

    num = st.sampled_from([0, -1, 1 << 40, 1.5])
    seconds = st.sampled_from(["0", "-1", "1e9", "nan", "inf", "-inf"])
    state = str(work / "state") + often(st.just(""), st.sampled_from(["/sub", "/../state2", "/\0"]))
    daemon = (f"[daemon]\nstate_dir = {s(state)}\n"
              'metrics_address = ""\nwatch_config = false\nshutdown_timeout = 10\n'
              + _maybe("queue_size", often(st.sampled_from([None, "1", "100", "10000"]), num.map(str)))
              + _maybe("consumers", often(st.sampled_from([None, "1", "3"]), num.map(str)))
              + _maybe("workers", often(st.sampled_from([None, "0", "1", "2"]), st.sampled_from(["-1", "65"])))
              + _maybe("checkpoint_interval", often(st.sampled_from([None, "0.05", "1"]), seconds))
              + _maybe("max_open_files", often(st.sampled_from([None, "16", "100"]), num.map(str)))
              + _maybe("log_level", often(st.sampled_from([None, '"debug"', '"info"']), st.just('"loud"'))))
    parser = often(st.sampled_from(["plain", "json", "logfmt", "regex", "syslog", "combined", "common"]),
                   st.just("xml"))
    pattern = often(_GOOD_REGEXES, _REGEXES) if parser == "regex" else often(st.none(), _GOOD_REGEXES)
    glob = str(work / "logs") + "/" + often(st.sampled_from(["*.log", "**/*.log", "a.log", "[ab].log"]),
                                             st.sampled_from(["a\0.log", "n" * 300, "*.log\n"]))
    name = often(st.text(alphabet=string.printable + "é\x1b", max_size=8), _NASTY)
    zone = often(st.sampled_from([None, "local", "UTC", "Europe/Paris"]),
                 st.sampled_from(["../etc", "Mars/Olympus", ""]))
    redact = [often(st.sampled_from(["email", "ipv4", "bearer_token", "credit_card"]) | _GOOD_REGEXES, _REGEXES)
              for _ in range(draw(st.integers(0, 3)))]
    source = ("[sources.app]\n"
              f"paths = [{s(glob)}]\n"
              f"parser = {s(parser)}\n"
              + _maybe("pattern", None if pattern is None else s(pattern))
              + _maybe("max_line_bytes", often(st.sampled_from([None, "64", "100", "1048576"]), num.map(str)))
              + _maybe("timezone", None if zone is None else s(zone))
              + _maybe("redact", "[" + ", ".join(map(s, redact)) + "]" if redact else None)
              + _maybe("multiline", None if draw(st.booleans()) else
                       f"{{ start = {s(often(_GOOD_REGEXES, _REGEXES))}, timeout = 0.2 }}")
              + _maybe("fields", f"{{ {s(name)} = {s(often(_TEXT, _NASTY))} }}" if draw(st.booleans()) else None)
              + _maybe("rename", f"{{ message = {s(name)} }}" if draw(st.booleans()) else None)
              + _maybe("drop_fields", f"[{s(name)}]" if draw(st.booleans()) else None))
    kind = draw(st.sampled_from(["stdout", "file", "http"]))
    fmt = draw(st.sampled_from(["json", "logfmt", "text", "raw"]))
    sink = f'[sinks.out]\ntype = "{kind}"\nformat = "{fmt}"\n'
    if fmt == "text" and draw(st.booleans()):
        template = often(st.text(alphabet="{}abcmesag .!:[]0", max_size=20).filter(lambda t: "{" not in t)
                         | st.sampled_from(["{message}", "{level} {message} {missing}", "{@t} {a-b}"]),
                         st.text(alphabet="{}abc .!:[]0", max_size=20) | _NASTY)
        sink += f"template = {s(template)}\n"
    sink += _maybe("min_level", often(st.sampled_from([None, '"warning"', '"trace"']), st.just('"warn"')))
    if draw(st.booleans()):
        sink += f"include = {{ message = {s(often(_GOOD_REGEXES, _REGEXES))} }}\n"
    if draw(st.booleans()):
        sink += f"exclude = {{ level = {s(often(_GOOD_REGEXES, _REGEXES))} }}\n"
    if kind == "file":
        tail = often(st.sampled_from(["x.log", "{source}.log", "{source}/x.log", "é/{source}.log"]),
                     st.sampled_from(["{source}/../../x.log", "a\0b.log", "{src}.log", "{{source}}.log",
                                      "n" * 300 + ".log"]) | _NASTY)
        sink += f"path = {s(str(work / 'out') + '/' + tail)}\n"
    elif kind == "http":
        where = url + often(st.sampled_from(["push", "?q=é", "%0d%0a", "a/b"]),
                            st.sampled_from(["a b", "x\ny", "\t"]) | _NASTY)
        sink += f"url = {s(where)}\n"
        sink += f"encoding = {s(draw(st.sampled_from(['ndjson', 'json_array', 'loki', 'elasticsearch'])))}\n"
        sink += "batch_timeout = 0.05\n"
        header = often(st.sampled_from(["Authorization", "X-Api-Key"]), st.sampled_from(["Bad Name", "X\nY", ""]))
        value = often(_TEXT.filter(lambda t: t.isprintable()), _NASTY | _TEXT)
        if draw(st.booleans()):
            sink += f"headers = {{ {s(header)} = {s(value)} }}\n"
        if draw(st.integers(0, 9)) == 0:
            sink += f"ca_file = {s(draw(st.sampled_from([str(work / 'nope.pem'), chr(0)])))}\n"
    return daemon + "\n" + source + "\n" + sink


def _check(path: Path) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return cli.main(["check", "-c", str(path)])


@pytest.fixture(name="server")
def fixture_server():
    with HttpTestServer(record=False) as server:
        yield server


def test_what_check_accepts_run_does_not_crash_on(tmp_path_factory, server) -> None:
    counter = {"accepted": 0, "examples": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        work = tmp_path_factory.mktemp("fuzz")
        (work / "logs").mkdir()
        (work / "out").mkdir()
        (work / "logs" / "a.log").write_bytes(
            b'{"level":"info","msg":"hello secret=abc","ts":"2026-12-07T10:00:00Z"}\n'
            + b"a" * 40 + b"\n" + b"2026-12-07 x\n  at trace\n" + b"\x1b[2J\xff\xfe bad\n"
            + b'127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n'
            + b"<34>1 2026-12-07T10:00:00Z host app 1 - - msg\n")
        text = data.draw(configs(work, server.url("/")), label="config")
        config = work / "logproc.toml"
        config.write_text(text)
        counter["examples"] += 1
        if _check(config) != 0:
            return
        counter["accepted"] += 1
        result = subprocess.run([*logproc_cmd(), "run", "--once", "-c", str(config)], capture_output=True,
                                timeout=60, check=False)
        err = result.stderr.decode("utf-8", "replace")
        events = []
        for line in err.splitlines():
            try:
                events.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise AssertionError(f"a non-JSON line on stderr: {line!r}\nconfig:\n{text}") from None
        crashes = [e for e in events if e.get("event") in CRASH_EVENTS or "exception" in e]
        assert not crashes, f"config:\n{text}\ncrashes: {crashes}"
        assert result.returncode == 0, f"exit {result.returncode}\nconfig:\n{text}\nstderr:\n{err}"

    run()
    print("fuzz:", counter)
    assert counter["accepted"] > 0, counter  # the strategy must reach `run` at all
