"""An entry's `level` as an OTLP severity: `severity_number` and `severity_text`.

OTLP numbers severities 1-24 in six ranges of four (TRACE 1-4, DEBUG 5-8, INFO 9-12,
WARN 13-16, ERROR 17-20, FATAL 21-24); logproc's canonical levels
(`logproc.transforms.levels`) map to them as:

| level    | number | OTLP name |
|----------|--------|-----------|
| trace    | 1      | TRACE     |
| debug    | 5      | DEBUG     |
| info     | 9      | INFO      |
| notice   | 10     | INFO2     |
| warning  | 13     | WARN      |
| error    | 17     | ERROR     |
| critical | 21     | FATAL     |

Decisions: `notice` is syslog's "normal but significant", above info and below warning:
INFO2 keeps it in the INFO range (a receiver filtering on WARN does not see it) while
ordering it after info. `critical` gathers crit, alert, emerg, fatal and panic (the
levels module folds them together): the least of them, FATAL (21), since the finer ones
cannot be told apart any more.

`severity_text` is the level as the entry carries it (OTLP: "the original string
representation of the severity as it is known at the source"); logproc has normalized it,
so it is one of the names above. An entry without a level gets neither (number 0,
UNSPECIFIED); a level that is not one of these names (a transform wrote it) keeps its text
with number 0.
"""

from __future__ import annotations

from typing import Any

SEVERITY_NUMBERS: dict[str, int] = {
    "trace": 1,
    "debug": 5,
    "info": 9,
    "notice": 10,
    "warning": 13,
    "error": 17,
    "critical": 21,
}


def severity(level: Any) -> tuple[int, str]:
    """`(severity_number, severity_text)` of an entry's `level` ((0, "") when absent)."""
    if level is None:
        return 0, ""
    text = level if level.__class__ is str else str(level)
    return SEVERITY_NUMBERS.get(text, 0), text
