"""Go types as schema objects: each knows its zero value, when it is empty for
`omitempty`, how Go encodes it and how Go's decoder reads it (and refuses it, with Go's
error text). `gojson` builds Kata's structs from these.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
import struct
from collections.abc import Callable
from typing import Any

from kata_console.engine.persist.gotext import (
    GO_ZERO_TIME,
    Fragment,
    GoJSONError,
    _canonical_time,
    _Ctx,
    _float32,
    _kind,
    _Num,
    encode_any,
    encode_string,
    format_float,
    go_string,
)


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
        return go_string(raw)


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


class _IP(_String):
    """net.IP: its text form (`10.88.0.17`); nil encodes as "". A string on the wire that
    Go's ParseIP must accept."""

    def __init__(self) -> None:
        super().__init__("net.IP")

    def decode(self, raw: Any, ctx: _Ctx) -> str:
        text = super().decode(raw, ctx)
        if text == "":
            return ""
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise GoJSONError(f"invalid IP address: {text}") from None
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
        if not value:
            return "{}"
        enc = self.value.encode
        if self._key_type is None:  # Go sorts map keys as strings
            return (
                "{" + ",".join([f"{encode_string(k)}:{enc(value[k])}" for k in sorted(value)]) + "}"
            )
        keys = sorted(value, key=str)
        return "{" + ",".join([f'"{k}":{enc(value[k])}' for k in keys]) + "}"

    def decode(self, raw: Any, ctx: _Ctx) -> dict[Any, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ctx.fail(_kind(raw), self.go)
        out: dict[Any, Any] = {}
        for k, v in raw.items():
            key: Any = go_string(k)
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
            from kata_console.engine.persist.gocodegen import compile_struct

            enc = self._enc = compile_struct(self)
        return enc(value)

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
