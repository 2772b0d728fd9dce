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

import json
from typing import Any

from kata_console.engine.persist.gotext import (  # noqa: F401 (the codec's public names)
    GO_ZERO_TIME,
    Fragment,
    GoJSONError,
    _Ctx,
    _float32,
    encode_any,
    encode_string,
    format_float,
    format_time,
    loads,
    parse_time,
)
from kata_console.engine.persist.gotypes import (  # noqa: F401
    _IP,
    F,
    Field,
    GoType,
    Map,
    Ptr,
    Raw,
    Slice,
    Struct,
    _Bool,
    _Bytes,
    _Float,
    _Int,
    _String,
    _Time,
)


def decode(schema: GoType, data: bytes | str) -> Any:
    """`json.NewDecoder(r).Decode(&v)` for a value of `schema`'s type: Go's value or Go's
    error (syntax errors keep Python's position, as one line)."""
    try:
        raw = loads(data)
    except json.JSONDecodeError as exc:
        raise GoJSONError(f"{exc.msg}: line {exc.lineno} column {exc.colno}") from None
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
