"""Entry values as OTLP `AnyValue`s, in both encodings: `fill(any_value, value)` sets a
protobuf `AnyValue` in place, `as_json(value)` returns its OTLP/JSON form (proto3 JSON
mapping: camelCase keys, 64-bit integers as decimal strings, bytes as base64).

| Python value         | AnyValue                                             |
|----------------------|------------------------------------------------------|
| str                  | `string_value`                                       |
| bool                 | `bool_value`                                         |
| int within int64     | `int_value` (JSON: `{"intValue": "42"}`)             |
| int past int64       | `string_value`, its decimal text (nothing is cut)    |
| float                | `double_value` (JSON: NaN and ±Infinity as strings)  |
| dict                 | `kvlist_value`, keys as text, in order               |
| list, tuple          | `array_value`                                        |
| bytes                | `bytes_value`                                        |
| None                 | an empty AnyValue (no value set: OTLP's null)        |
| anything else        | `string_value`, `str(value)`                         |

Entries hold JSON-like values, so the exact-class checks come first (cheap, and bool is
tested before int: it is one); subclasses go through the isinstance fallbacks.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def fill(av: Any, value: Any) -> None:
    """Set the protobuf `AnyValue` `av` (empty) to `value`."""
    c = value.__class__
    if c is str:
        av.string_value = value
    elif c is bool:
        av.bool_value = value
    elif c is int:
        if INT64_MIN <= value <= INT64_MAX:
            av.int_value = value
        else:
            av.string_value = str(value)
    elif c is float:
        av.double_value = value
    elif value is None:
        pass
    elif isinstance(value, Mapping):
        kvlist = av.kvlist_value
        kvlist.SetInParent()  # an empty map is still a kvlist, not an empty AnyValue
        add = kvlist.values.add
        for k, v in value.items():
            fill(add(key=k if k.__class__ is str else str(k)).value, v)
    elif isinstance(value, list | tuple):
        array = av.array_value
        array.SetInParent()
        add_value = array.values.add
        for v in value:
            fill(add_value(), v)
    elif isinstance(value, bytes | bytearray):
        av.bytes_value = bytes(value)
    elif isinstance(value, bool):
        av.bool_value = bool(value)
    elif isinstance(value, int):
        fill(av, int(value))
    elif isinstance(value, float):
        av.double_value = float(value)
    else:
        av.string_value = str(value)


def as_json(value: Any) -> dict[str, Any]:
    """The OTLP/JSON `AnyValue` of `value`."""
    c = value.__class__
    if c is str:
        return {"stringValue": value}
    if c is bool:
        return {"boolValue": value}
    if c is int:
        if INT64_MIN <= value <= INT64_MAX:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if c is float:
        return {"doubleValue": value if math.isfinite(value) else _special(value)}
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": [{"key": k if k.__class__ is str else str(k), "value": as_json(v)}
                                           for k, v in value.items()]}}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [as_json(v) for v in value]}}
    if isinstance(value, bytes | bytearray):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, int):
        return as_json(int(value))
    if isinstance(value, float):
        return as_json(float(value))
    return {"stringValue": str(value)}


def _special(value: float) -> str:
    # proto3 JSON writes the non-finite doubles as these strings (JSON has no literal for them)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
