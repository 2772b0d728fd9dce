"""Go's `encoding/json`, for Kata's persist structs: what `json.Marshal` writes and what
`json.NewDecoder(f).Decode(&v)` accepts and refuses.

Kata's Go runtime reads persist.json into typed structs: a value of the wrong JSON kind
anywhere fails the whole file (a string where Go has `types.PciPath`, which has no exported
field and is always `{}`), unknown keys are dropped, missing ones stay zero. Writing what Go
writes is therefore a matter of types, not of key names: a schema of `GoType` objects
mirrors the Go declarations (field order, JSON names, `omitempty`, pointer or value, the
named type that Go's error texts print) and drives both directions.

Values are plain Python, keyed as on the wire: a struct is a dict by JSON name (missing
keys encode as Go's zero value, so callers may pass partial dicts), a slice a list, a map a
dict, `None` is nil (a nil slice is `null`, an empty one `[]`, as in Go), a pointer is None
or its target. `Fragment` is JSON text encoded earlier, spliced in as is (a save re-encodes
only what changed).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import ipaddress
import json
import math
import re
import struct
from collections.abc import Callable
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


def loads(data: bytes | str) -> Any:
    """JSON text to Python values with number literals kept (`_Num`); NaN/Infinity refused
    (not JSON, and Go's scanner refuses them)."""
    return json.loads(data, parse_int=_Num, parse_float=_Num, parse_constant=_refuse_constant)


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


# --------------------------------------------------------------------------- encoding
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


# --------------------------------------------------------------------------- types
class GoType:
    """One Go type: its zero value, `omitempty` emptiness, encoder and decoder."""

    go = ""

    def zero(self) -> Any:
        return None

    def empty(self, value: Any) -> bool:
        return value is None

    def encode(self, value: Any) -> str:
        raise NotImplementedError

    def decode(self, raw: Any, ctx: _Ctx) -> Any:
        raise NotImplementedError


class _String(GoType):
    def __init__(self, go: str = "string") -> None:
        self.go = go

    def zero(self) -> str:
        return ""

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return encode_string(value or "")

    def decode(self, raw: Any, ctx: _Ctx) -> str:
        if raw is None:
            return ""
        if type(raw) is not str:
            raise ctx.fail(_kind(raw), self.go)
        return raw


class _Bool(GoType):
    go = "bool"

    def zero(self) -> bool:
        return False

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return "true" if value else "false"

    def decode(self, raw: Any, ctx: _Ctx) -> bool:
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise ctx.fail(_kind(raw), self.go)
        return raw


_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")


class _Int(GoType):
    def __init__(self, go: str, bits: int, signed: bool) -> None:
        self.go = go
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def zero(self) -> int:
        return 0

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return str(int(value or 0))

    def decode(self, raw: Any, ctx: _Ctx) -> int:
        if raw is None:
            return 0
        if not isinstance(raw, _Num):
            raise ctx.fail(_kind(raw), self.go)
        if not _INTEGER.match(raw) or not self.lo <= int(raw) <= self.hi:
            raise ctx.fail(f"number {raw}", self.go)
        return int(raw)


class _Float(GoType):
    def __init__(self, go: str, bits: int) -> None:
        self.go, self.bits = go, bits

    def zero(self) -> float:
        return 0.0

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return format_float(float(value or 0), self.bits)

    def decode(self, raw: Any, ctx: _Ctx) -> float:
        if raw is None:
            return 0.0
        if not isinstance(raw, _Num):
            raise ctx.fail(_kind(raw), self.go)
        value = float(raw)
        if self.bits == 32:
            limit = struct.unpack("f", b"\xff\xff\x7f\x7f")[0]
            if abs(value) > limit * (1 + 2**-25):
                raise ctx.fail(f"number {raw}", self.go)
            value = _float32(value)
        elif math.isinf(value):
            raise ctx.fail(f"number {raw}", self.go)
        return value


class Slice(GoType):
    def __init__(self, elem: GoType, go: str | None = None) -> None:
        self.elem = elem
        self.go = go or f"[]{elem.go}"

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        if value is None:
            return "null"
        if type(value) is Fragment:
            return value
        enc = self.elem.encode
        return "[" + ",".join(enc(v) for v in value) + "]"

    def decode(self, raw: Any, ctx: _Ctx) -> list[Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise ctx.fail(_kind(raw), self.go)
        return [self.elem.decode(v, ctx) for v in raw]


class _Bytes(GoType):
    """A []byte type (net.IPMask): base64 on the wire."""

    def __init__(self, go: str) -> None:
        self.go = go

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return "null" if value is None else f'"{value}"'

    def decode(self, raw: Any, ctx: _Ctx) -> str | None:
        if raw is None:
            return None
        if type(raw) is not str:
            raise ctx.fail(_kind(raw), self.go)
        try:
            return base64.b64encode(base64.b64decode(raw, validate=True)).decode()
        except (binascii.Error, ValueError):
            raise GoJSONError("illegal base64 data at input byte 0") from None


class _IP(GoType):
    """net.IP: its text form (`10.88.0.17`); nil encodes as ""."""

    go = "net.IP"

    def zero(self) -> str:
        return ""

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        return encode_string(value or "")

    def decode(self, raw: Any, ctx: _Ctx) -> str:
        if raw is None:
            return ""
        if type(raw) is not str:
            raise ctx.fail(_kind(raw), self.go)
        if raw == "":
            return ""
        try:
            ip = ipaddress.ip_address(raw)
        except ValueError:
            raise GoJSONError(f"invalid IP address: {raw}") from None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)  # Go prints a v4-in-v6 address as v4
        return str(ip)


class _Time(GoType):
    """time.Time: RFC3339Nano text, as Go's MarshalJSON writes it (nanoseconds kept)."""

    go = "time.Time"

    def zero(self) -> str:
        return GO_ZERO_TIME

    def empty(self, value: Any) -> bool:
        return False  # a struct: never empty for omitempty

    def encode(self, value: Any) -> str:
        return f'"{value or GO_ZERO_TIME}"'

    def decode(self, raw: Any, ctx: _Ctx) -> str:
        if raw is None:
            return GO_ZERO_TIME
        if type(raw) is not str:
            raise GoJSONError("Time.UnmarshalJSON: input is not a JSON string")
        try:
            return _canonical_time(raw)
        except ValueError:
            raise GoJSONError(
                f'parsing time {json.dumps(raw)} as "2006-01-02T15:04:05Z07:00": cannot parse'
            ) from None


_MAP_KEY_SIGNED = re.compile(r"^[+-]?[0-9]+$")
_MAP_KEY_UNSIGNED = re.compile(r"^[0-9]+$")


class Map(GoType):
    def __init__(self, key: str, value: GoType, go: str | None = None) -> None:
        self.key, self.value = key, value
        self.go = go or f"map[{key}]{value.go}"
        self._key_type: _Int | None = {
            "string": None,
            "int": _Int("int", 64, True),
            "uint32": _Int("uint32", 32, False),
        }[key]

    def empty(self, value: Any) -> bool:
        return not value

    def encode(self, value: Any) -> str:
        if value is None:
            return "null"
        if type(value) is Fragment:
            return value
        enc = self.value.encode
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{encode_string(k)}:{enc(v)}" for k, v in items) + "}"

    def decode(self, raw: Any, ctx: _Ctx) -> dict[Any, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ctx.fail(_kind(raw), self.go)
        out: dict[Any, Any] = {}
        for k, v in raw.items():
            key: Any = k
            kt = self._key_type
            if kt is not None:  # strconv.ParseInt/ParseUint(k, 10, 64): sign, leading zeros ok
                ok = _MAP_KEY_SIGNED if kt.lo < 0 else _MAP_KEY_UNSIGNED
                if not ok.match(k) or not kt.lo <= int(k) <= kt.hi:
                    raise ctx.fail(f"number {k}", kt.go)
                key = int(k)
            ctx.stack.append(k)
            out[key] = self.value.decode(v, ctx)
            ctx.stack.pop()
        return out


class Ptr(GoType):
    def __init__(self, elem: GoType) -> None:
        self.elem = elem
        self.go = "*" + elem.go

    def encode(self, value: Any) -> str:
        return "null" if value is None else self.elem.encode(value)

    def decode(self, raw: Any, ctx: _Ctx) -> Any:
        return None if raw is None else self.elem.decode(raw, ctx)


class Raw(GoType):
    """A subtree kept as read (a type no Kata code fills, e.g. runc's `*configs.Cgroup`)."""

    def __init__(self, go: str) -> None:
        self.go = go

    def encode(self, value: Any) -> str:
        return encode_any(value)

    def decode(self, raw: Any, ctx: _Ctx) -> Any:
        return raw


class Field:
    """One struct field: JSON name, type, `omitempty`, and whether it is embedded (Go
    promotes an embedded struct's fields into the parent object)."""

    __slots__ = ("embedded", "name", "omitempty", "prefix", "type")

    def __init__(
        self, name: str, type_: GoType, *, omitempty: bool = False, embedded: bool = False
    ):
        self.name, self.type, self.omitempty, self.embedded = name, type_, omitempty, embedded
        self.prefix = encode_string(name) + ":"


def F(name: str, type_: GoType, *, omitempty: bool = False) -> Field:
    return Field(name, type_, omitempty=omitempty)


class Struct(GoType):
    def __init__(self, go: str, fields: list[Field]) -> None:
        self.go = go
        self.name = go.rsplit(".", 1)[-1]
        self.fields = fields
        self._exact: dict[str, tuple[Field, ...]] = {}
        self._walk(fields, ())
        self._folded = {k.casefold(): v for k, v in reversed(list(self._exact.items()))}
        self._enc: Callable[[Any], str] | None = None

    def _walk(self, fields: list[Field], path: tuple[Field, ...]) -> None:
        for f in fields:
            if f.embedded:
                inner = f.type.elem if isinstance(f.type, Ptr) else f.type
                assert isinstance(inner, Struct)
                self._walk(inner.fields, (*path, f))
            else:
                self._exact.setdefault(f.name, (*path, f))

    def zero(self) -> dict[str, Any]:
        return {f.name: f.type.zero() for f in self.fields}

    def empty(self, value: Any) -> bool:
        return False  # Go: a struct is never empty

    def encode(self, value: Any) -> str:
        enc = self._enc
        if enc is None:
            enc = self._enc = self._compile()
        return enc(value)

    def _compile(self) -> Callable[[Any], str]:
        """Generate this struct's encoder as straight-line Python: a save encodes the same
        few structs thousands of times, and a loop over field objects costs 5x more. The
        pieces are joined once at the end, so a large spliced fragment is copied once."""
        env: dict[str, Any] = {"Fr": Fragment, "S": encode_string, "E": {}}
        listed = _needs_list(self)
        body = ["def enc(v):", " if type(v) is Fr: return v", " g0 = (v or E).get"]
        pieces: list[tuple[str, str]] = []
        _emit(self, "g0", 1, listed, body, pieces, env, [0])
        if listed:
            body.insert(3, " p = ['{']")
            body += [" if len(p) > 1: p[1] = p[1][1:]", " p.append('}')", " return ''.join(p)"]
        else:
            parts = [
                f"{(key[1:] if i == 0 else key)!r}, {text}"  # the first key has no comma
                for i, (key, text) in enumerate(pieces)
            ]
            body.append(" return ''.join(('{', " + "".join(f"{p}, " for p in parts) + "'}'))")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(body), f"<gojson {self.go}>", "exec"), env, namespace)
        return namespace["enc"]  # type: ignore[no-any-return]

    def decode(self, raw: Any, ctx: _Ctx) -> dict[str, Any]:
        out = self.zero()
        if raw is None:
            return out
        if not isinstance(raw, dict):
            raise ctx.fail(_kind(raw), self.go)
        depth, outer = len(ctx.stack), ctx.struct
        for key, value in raw.items():
            path = self._exact.get(key) or self._folded.get(key.casefold())
            if path is None:
                continue  # Go drops unknown keys
            target = out
            for emb in path[:-1]:
                inner = emb.type.elem if isinstance(emb.type, Ptr) else emb.type
                if target.get(emb.name) is None:
                    target[emb.name] = inner.zero()
                target = target[emb.name]
            f = path[-1]
            ctx.stack.append(f.name)
            ctx.struct = self.name  # Go names the struct being decoded, even when promoted
            target[f.name] = f.type.decode(value, ctx)
            del ctx.stack[depth:]
            ctx.struct = outer
        return out


def _needs_list(s: Struct) -> bool:
    return any(f.omitempty or f.embedded for f in s.fields)


def _value_code(f: Field, getter: str, env: dict[str, Any], n: list[int]) -> tuple[str, str]:
    """(statement binding the field's value, expression for its encoded text)."""
    n[0] += 1
    var = f"x{n[0]}"
    bind = f"{var} = {getter}({f.name!r})"
    t = f.type
    if isinstance(t, _String | _IP):
        return bind, f"S({var} or '')"
    if isinstance(t, _Int):
        return bind, f"str(int({var} or 0))"
    if isinstance(t, _Bool):
        return bind, f"('true' if {var} else 'false')"
    env[f"e{n[0]}"] = t.encode
    return bind, f"e{n[0]}({var})"


def _emit(
    s: Struct,
    getter: str,
    indent: int,
    listed: bool,
    body: list[str],
    pieces: list[tuple[str, str]],
    env: dict[str, Any],
    n: list[int],
) -> None:
    pad = " " * indent
    for f in s.fields:
        if f.embedded:
            inner = f.type.elem if isinstance(f.type, Ptr) else f.type
            assert isinstance(inner, Struct)
            n[0] += 1
            w, gw = f"w{n[0]}", f"g{n[0]}"
            body.append(f"{pad}{w} = {getter}({f.name!r})")
            if isinstance(f.type, Ptr):  # Go writes none of a nil embedded pointer's fields
                body.append(f"{pad}if {w} is not None:")
                body.append(f"{pad} {gw} = {w}.get")
                _emit(inner, gw, indent + 1, True, body, pieces, env, n)
            else:
                body.append(f"{pad}{gw} = ({w} or E).get")
                _emit(inner, gw, indent, True, body, pieces, env, n)
            continue
        bind, text = _value_code(f, getter, env, n)
        var = bind.split(" ", 1)[0]
        key = "," + f.prefix
        body.append(pad + bind)
        if not listed:
            pieces.append((key, text))
            continue
        key = repr(key)
        if f.omitempty:
            test = f"{var} is not None" if isinstance(f.type, Ptr) else var
            if isinstance(f.type, Struct | _Time):
                test = "True"  # Go: a struct is never empty
            body.append(f"{pad}if {test}: p += ({key}, {text})")
        else:
            body.append(f"{pad}p += ({key}, {text})")


def decode(schema: GoType, data: bytes | str) -> Any:
    """`json.NewDecoder(r).Decode(&v)` for a value of `schema`'s type: Go's value or Go's
    error (syntax errors keep Python's position, as one line)."""
    try:
        raw = loads(data)
    except json.JSONDecodeError as exc:
        raise GoJSONError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise GoJSONError("exceeded max depth") from None
    return schema.decode(raw, _Ctx())


def encode(schema: GoType, value: Any) -> str:
    """`json.Marshal`; persist files add the Encoder's trailing newline themselves."""
    return schema.encode(value)


# --------------------------------------------------------------------------- builders
STRING = _String()
BOOL = _Bool()
INT = _Int("int", 64, True)
INT64 = _Int("int64", 64, True)
UINT = _Int("uint", 64, False)
UINT64 = _Int("uint64", 64, False)
UINT32 = _Int("uint32", 32, False)
UINT16 = _Int("uint16", 16, False)
FLOAT32 = _Float("float32", 32)
TIME = _Time()
IP = _IP()
EMPTY_STRUCT = Struct("struct {}", [])


def named_string(go: str) -> GoType:
    return _String(go)


def named_uint32(go: str) -> GoType:
    return _Int(go, 32, False)


def named_bytes(go: str) -> GoType:
    return _Bytes(go)


def embedded(type_: GoType) -> Field:
    name = (type_.elem if isinstance(type_, Ptr) else type_).name  # type: ignore[attr-defined]
    return Field(name, type_, embedded=True)
