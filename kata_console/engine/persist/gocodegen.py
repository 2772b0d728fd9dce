"""Struct encoders generated as straight-line Python code.

A save encodes the same few structs thousands of times; a loop over field objects costs
about five times what one expression per field does. The generated function reads each
field from the value dict, encodes it with the field type's encoder (scalars inline), drops
`omitempty` fields that are empty, inlines embedded structs, and joins the pieces once at
the end so that a large spliced `Fragment` is copied once. The code is generated from the
schema only (names are `repr`-quoted), never from data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kata_console.engine.persist.gotext import Fragment, encode_string
from kata_console.engine.persist.gotypes import (
    _IP,
    Field,
    Ptr,
    Struct,
    _Bool,
    _Int,
    _String,
    _Time,
)


def compile_struct(s: Struct) -> Callable[[Any], str]:
    """Generate this struct's encoder as straight-line Python: a save encodes the same
    few structs thousands of times, and a loop over field objects costs 5x more. The
    pieces are joined once at the end, so a large spliced fragment is copied once."""
    env: dict[str, Any] = {"Fr": Fragment, "S": encode_string, "E": {}}
    listed = _needs_list(s)
    body = ["def enc(v):", " if type(v) is Fr: return v", " g0 = (v or E).get"]
    pieces: list[tuple[str, str]] = []
    _emit(s, "g0", 1, listed, body, pieces, env, [0])
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
    exec(compile("\n".join(body), f"<gojson {s.go}>", "exec"), env, namespace)
    return namespace["enc"]  # type: ignore[no-any-return]


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
