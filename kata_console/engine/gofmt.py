"""Go's formatting of values inside error texts (`%q`), so texts match Go byte for byte.

Operators grep the runtime's log for these texts; a Python `repr` would differ in quotes
and escapes.
"""

from __future__ import annotations

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """Go's `%q` of a string (strconv.Quote), for error texts that must match Go byte for byte."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
                out.append(f"\\x{code - 0xDC00:02x}")
            elif code < 0x10000:
                out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
