"""Go's encoding/json at the level of single values: how Go writes a string, a float and
a time, how its decoder names a JSON kind in an error, and JSON text read with number
literals kept (Go's errors quote them: "number 1.5"). Used by the typed codec in `gojson`.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import functools
import json
import math
import re
import struct
from decimal import Decimal
from typing import Any

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class GoJSONError(ValueError):
    """What Go's decoder would return for this document; `str()` is Go's text."""


class Fragment(str):
    """JSON text already encoded by this module, written verbatim."""

    __slots__ = ()


class _Num(str):
    """A JSON number kept as its literal, so errors can quote it as Go does ("number 1.5")."""

    __slots__ = ()


def _refuse_constant(name: str) -> Any:
    raise GoJSONError(f"invalid character '{name[0]}' looking for beginning of value")


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    """Go's decoder replaces each byte of an invalid sequence (`utf8.DecodeRune` consumes
    one), where Python's "replace" gives one U+FFFD per maximal invalid prefix."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd" * (exc.end - exc.start), exc.end


codecs.register_error("kata-go-replace", _go_replace)
_DECODER = json.JSONDecoder(parse_int=_Num, parse_float=_Num, parse_constant=_refuse_constant)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(data: bytes | str) -> Any:
    """The first JSON value of `data`, as Go's `json.Decoder.Decode` reads it: invalid
    UTF-8 becomes U+FFFD, whatever follows the value is not read, number literals are kept
    (`_Num`), NaN/Infinity are refused (not JSON, and Go's scanner refuses them)."""
    text = data.decode("utf-8", "kata-go-replace") if isinstance(data, bytes) else data
    start = len(text) - len(text.lstrip(" \t\n\r"))
    return _DECODER.raw_decode(text, start)[0]


def go_string(text: str) -> str:
    """A decoded JSON string as Go holds it: an unpaired surrogate escape (`\\ud800`)
    becomes U+FFFD, as Go's decoder writes it."""
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def _kind(value: Any) -> str:
    """The JSON kind as Go's UnmarshalTypeError names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, _Num):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Ctx:
    """Go's decoder error context: the innermost struct type and the field path."""

    __slots__ = ("stack", "struct")

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.struct = ""

    def fail(self, value: str, go_type: str) -> GoJSONError:
        if self.struct or self.stack:
            where = f"Go struct field {self.struct}.{'.'.join(self.stack)}"
        else:
            where = "Go value"
        return GoJSONError(f"json: cannot unmarshal {value} into {where} of type {go_type}")


_basestring = json.encoder.encode_basestring  # the C encoder for ensure_ascii=False
_NEEDS_FIX = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
_FIX = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


@functools.lru_cache(maxsize=16384)
def encode_string(text: str) -> str:
    """Go's string encoding: HTML-safe (`<`, `>`, `&` as \\u003c...), U+2028/9 escaped,
    control characters as \\n, \\b, \\u001f...; an undecodable byte kept by
    surrogateescape becomes \\ufffd, as Go writes an invalid UTF-8 byte. Cached: the same
    IDs and paths are written on every save."""
    out = _basestring(text)
    if _NEEDS_FIX.search(out) is None:
        return out
    return _NEEDS_FIX.sub(lambda m: _FIX.get(m.group(), "\\ufffd"), out)


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def format_float(value: float, bits: int = 64) -> str:
    """Go's float encoding: the shortest text that reads back to the same float of that
    size, in plain notation, or exponent notation below 1e-6 and from 1e21 up (`1e-7`)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if bits == 32:
        value = _float32(value)  # what a Go float32 field holds
        text = next(t for p in range(1, 10) if _float32(float(t := f"{value:.{p}g}")) == value)
    else:
        text = repr(value)
    dec = Decimal(text).normalize()
    small, large = (_float32(1e-6), _float32(1e21)) if bits == 32 else (1e-6, 1e21)
    if small <= abs(value) < large:  # Go compares in the float's own size
        out = format(dec, "f")
        return out
    sign, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    exp = exponent + len(digits) - 1
    exp_text = f"-{-exp}" if exp < 0 else f"+{exp:02d}"
    return ("-" if sign else "") + f"{mantissa}e{exp_text}"


def format_time(value: _dt.datetime | None) -> str:
    """Go's RFC3339Nano for a Python datetime (microseconds): trailing zeros cut, `Z` for
    UTC; None is Go's zero time."""
    if value is None:
        return GO_ZERO_TIME
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    offset = value.utcoffset()
    if offset is None or offset == _dt.timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)$"
)


def parse_time(text: str) -> _dt.datetime | None:
    """A persisted RFC3339 time as a datetime (nanoseconds cut to microseconds); the zero
    time is None."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    if text == GO_ZERO_TIME:
        return None
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    zone = m.group(8).upper()
    tz = "+00:00" if zone == "Z" else zone
    return _dt.datetime.fromisoformat(f"{text[:19].replace('t', 'T')}.{frac}{tz}")


def _canonical_time(text: str) -> str:
    """What Go's MarshalJSON writes for a time it parsed from `text`."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(text)
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    _dt.datetime(y, mo, d, h, mi, min(s, 59))  # range check (Go refuses month 13 too)
    frac = (m.group(7) or "").rstrip("0")
    zone = m.group(8).upper()
    if zone in ("Z", "+00:00", "-00:00"):
        zone = "Z"
    return (
        f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}"
        + (f".{frac}" if frac else "")
        + zone
    )


def encode_any(value: Any) -> str:
    """Untyped JSON (a raw subtree) in Go's compact, HTML-safe form."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fragment | _Num):
        return str(value)
    if isinstance(value, str):
        return encode_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_any(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{encode_string(k)}:{encode_any(v)}" for k, v in items) + "}"
    raise TypeError(f"cannot encode {type(value).__name__}")
