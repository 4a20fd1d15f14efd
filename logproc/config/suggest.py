"""How config problems are worded for the operator.

Contract:
- `did_you_mean(word, choices)` is `'; did you mean "x"?'` or "" (difflib, case-insensitive).
- `show(value, mask)` renders a config value the way TOML writes it (strings double-quoted),
  masked, then cut to a readable length; masking first so a cut never exposes part of a secret.
- `explain(errors, root, mask)` turns pydantic's errors into `(key path, message)` pairs in
  the shapes users see in `logproc check` (`unknown key "x"; did you mean "y"?`, `expected an integer,
  got "ten"`, ...). Key paths are pydantic's `loc` without the parts that name no key: a
  union member (`file` in `sinks.x.file.path`) or a dict-key marker (`[key]`).

This module knows nothing of logproc's models: it walks whatever model `root` is, so a
new field, choice or sink type needs no change here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import types
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

KeyPath = tuple[str | int, ...]
Mask = Callable[[str], str]
MAX_SHOWN = 80  # characters of a value quoted in a message

# Type errors, by pydantic error type, as the noun that follows "expected".
_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "is_instance_of": "a string",  # Path fields take strings
    "list_type": "a list",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"), "less_than_equal": ("le", "must be at most"),
    "greater_than": ("gt", "must be greater than"), "less_than": ("lt", "must be less than"),
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return f"; did you mean {quote(by_lower[close[0]])}?" if close else ""


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _render(value: object) -> str:
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_render(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # bounds such as gt=0.0 read better as 0
    return str(value)


def show(value: object, mask: Mask) -> str:
    text = mask(_render(value))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional; a real union (two or more types) is kept."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if _is_union(tp):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _tags(model: Any, key: str) -> tuple[Any, ...]:
    field = model.model_fields.get(key) if _is_model(model) else None
    return get_args(field.annotation) if field is not None and get_origin(field.annotation) is Literal else ()


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _discriminator(tp: Any) -> str | None:
    if get_origin(tp) is Annotated:
        for meta in get_args(tp)[1:]:
            if isinstance(meta, FieldInfo) and isinstance(meta.discriminator, str):
                return meta.discriminator
    return None


class _Spot:
    """Where an error's loc lands: the key path, the type expected there, and its container."""

    def __init__(self, root: type[BaseModel], loc: tuple[str | int, ...]) -> None:
        tp: Any = root
        self.path: KeyPath = ()
        self.parent: Any = None
        self.discriminator: str | None = None
        for seg in loc:
            # Remembered: the Annotated wrapper naming it is unwrapped a step before the
            # union's member is chosen, and a tag error lands on the union itself.
            tagged = _discriminator(tp)
            self.discriminator = tagged or self.discriminator
            tp = _unwrap(tp)
            if tagged and _is_model(tp) and seg in _tags(tp, tagged):
                continue  # a union of one member is that member, and its tag still in loc
            if seg == "[key]":  # the error is about a dict key, which the path already names
                continue
            if _is_union(tp):  # seg names a union member: a tag value or a type name
                tp = next((m for m in get_args(tp) if seg in _tags(m, self.discriminator or "")
                           or getattr(m, "__name__", None) == seg), None)
                continue
            self.parent, self.path = tp, (*self.path, seg)
            if _is_model(tp):
                field = tp.model_fields.get(seg)
                tp = field.annotation if field is not None else None
            elif get_origin(tp) in (dict, list):
                tp = get_args(tp)[-1]
            else:
                tp = None
        self.discriminator = _discriminator(tp) or self.discriminator
        self.type = _unwrap(tp)


def _message(err: ErrorDetails, spot: _Spot, mask: Mask) -> str:
    kind, value, ctx = err["type"], err["input"], err.get("ctx", {})
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {show(value, mask)}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{words} {_render(ctx[key])}, got {show(value, mask)}"
    if kind == "missing":
        return f"missing required key {quote(str(spot.path[-1]))}"
    if kind == "extra_forbidden":
        key = str(spot.path[-1])
        fields = spot.parent.model_fields if _is_model(spot.parent) else {}
        return f"unknown key {quote(key)}{did_you_mean(key, fields)}"
    if kind == "literal_error":
        return _choice("invalid value", value, [str(c) for c in get_args(spot.type)], mask)
    if kind == "union_tag_invalid":
        tags = [str(t) for m in get_args(spot.type) for t in _tags(m, spot.discriminator or "")]
        tag = value.get(spot.discriminator) if isinstance(value, dict) else ctx.get("tag")
        return _choice("unknown sink type", tag, tags, mask)  # only sinks are tagged unions today
    if kind == "union_tag_not_found":
        return f"missing required key {quote(spot.discriminator or 'type')}"
    if kind in ("too_short", "string_too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # our validators already speak the operator's language
    msg = err["msg"]
    return msg[:1].lower() + msg[1:]


def _choice(what: str, value: object, choices: list[str], mask: Mask) -> str:
    hint = did_you_mean(value, choices) if isinstance(value, str) else ""
    return f"{what} {show(value, mask)}; expected one of: {', '.join(choices)}{hint}"


def explain(errors: Iterable[ErrorDetails], root: type[BaseModel], mask: Mask) -> list[tuple[KeyPath, str]]:
    """One `(key path, message)` per problem, in pydantic's order.

    A value matching no member of a plain union (`fields` values: string, integer, number or
    boolean) gives one type error per member at the same path; those merge into one message.
    """
    out: list[tuple[KeyPath, str]] = []
    wanted: dict[KeyPath, tuple[int, list[str]]] = {}  # path -> (its message in `out`, nouns)
    for err in errors:
        spot = _Spot(root, err["loc"])
        if spot.discriminator and err["type"].startswith("union_tag"):
            spot.path = (*spot.path, spot.discriminator)  # the problem is the tag key itself
        noun = _EXPECTED.get(err["type"])
        if noun and spot.path in wanted:
            index, nouns = wanted[spot.path]
            nouns.append(noun)
            out[index] = (spot.path, f"expected {_either(nouns)}, got {show(err['input'], mask)}")
            continue
        if noun:
            wanted[spot.path] = (len(out), [noun])
        out.append((spot.path, _message(err, spot, mask)))
    return out


def _either(nouns: list[str]) -> str:
    """`a string, a number or true or false`: a number covers an integer."""
    kept = list(dict.fromkeys(n for n in nouns if not (n == "an integer" and "a number" in nouns)))
    return ", ".join(kept[:-1]) + " or " + kept[-1] if len(kept) > 1 else kept[0]
