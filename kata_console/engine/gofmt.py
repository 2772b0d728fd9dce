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


# ----------------------------------------------------------------- strconv.ParseUint
class GoNumError(ValueError):
    """Go's `*strconv.NumError`: `str()` is its `Error()` text, byte for byte."""

    def __init__(self, func: str, num: str, err: str) -> None:
        super().__init__(f"strconv.{func}: parsing {go_quote(num)}: {err}")
        self.func, self.num, self.err = func, num, err


ERR_SYNTAX = "invalid syntax"
ERR_RANGE = "value out of range"
_MAX_UINT64 = (1 << 64) - 1
_PREFIX_BASES = {ord("b"): 2, ord("o"): 8, ord("x"): 16}


def _lower(c: int) -> int:
    return c | (ord("x") - ord("X"))


def _underscore_ok(s: bytes) -> bool:
    """Go `underscoreOK`: `_` only between digits, or between a base prefix and a digit."""
    saw, i = "^", 0
    if s[:1] in (b"-", b"+"):
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == ord("0") and _lower(s[1]) in b"box":
        i, saw, hexa = 2, "0", _lower(s[1]) == ord("x")
    for c in s[i:]:
        if ord("0") <= c <= ord("9") or (hexa and ord("a") <= _lower(c) <= ord("f")):
            saw = "0"
        elif c == ord("_"):
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_uint(s: str, base: int = 0, bit_size: int = 64) -> int:
    """Go `strconv.ParseUint`, rule for rule: with base 0 the prefixes 0b/0o/0x (any case,
    only with a digit after them), a leading 0 for octal and `_` separators; no sign.

    Kata parses resource annotations with it, and an operator who wrote `0x10` or `1_000`
    must get the value (or the error) Kata gets. The text is read as UTF-8 bytes, as Go
    does; failures raise `GoNumError` with Go's text."""
    fn = "ParseUint"
    if s == "":
        raise GoNumError(fn, s, ERR_SYNTAX)
    raw = s.encode("utf-8", "surrogateescape")
    base0 = base == 0
    digits = raw
    if 2 <= base <= 36:
        pass
    elif base0:
        base = 10
        if raw[0] == ord("0"):
            prefixed = _PREFIX_BASES.get(_lower(raw[1])) if len(raw) >= 3 else None
            base, digits = (prefixed, raw[2:]) if prefixed else (8, raw[1:])
    else:
        raise GoNumError(fn, s, f"invalid base {base}")
    if bit_size == 0:
        bit_size = 64
    elif not 0 < bit_size <= 64:
        raise GoNumError(fn, s, f"invalid bit size {bit_size}")
    max_val = (1 << bit_size) - 1
    underscores = False
    n = 0
    for c in digits:
        if c == ord("_") and base0:
            underscores = True
            continue
        if ord("0") <= c <= ord("9"):
            d = c - ord("0")
        elif ord("a") <= _lower(c) <= ord("z"):
            d = _lower(c) - ord("a") + 10
        else:
            raise GoNumError(fn, s, ERR_SYNTAX)
        if d >= base:
            raise GoNumError(fn, s, ERR_SYNTAX)
        if n * base + d > max_val:
            raise GoNumError(fn, s, ERR_RANGE)
        n = n * base + d
    if underscores and not _underscore_ok(raw):
        raise GoNumError(fn, s, ERR_SYNTAX)
    return n


def go_int64(value: int) -> int:
    """Go's `int64(u)` of a uint64: two's complement, so 2**63 and up become negative."""
    value &= _MAX_UINT64
    return value - (1 << 64) if value >= 1 << 63 else value


# ----------------------------------------------------------------- gRPC status errors
#: grpc.StatusCode names (what `AgentError.code` holds) -> grpc-go `codes.Code.String()`
GO_CODE_NAMES = {
    "OK": "OK",
    "CANCELLED": "Canceled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}


def status_error(code: str, desc: str) -> str:
    """grpc-go `status.Error(code, desc).Error()`: how the Go runtime prints an agent's
    error status (`rpc error: code = NotFound desc = ...`)."""
    return f"rpc error: code = {GO_CODE_NAMES.get(code, 'Unknown')} desc = {desc}"
