"""Kernel and overlayfs escaping, decoded exactly once and in the right order.

Two escaping layers meet in a mountinfo line (erofs-chains.md §3.1, §3.3):

* the kernel writes space, tab, newline and backslash as `\\040 \\011 \\012 \\134` in root,
  mountpoint, fstype and source, and additionally `,` as `\\054` inside overlay option values
  (`seq_show_option`); so options must be split on `,` BEFORE octal decoding;
* overlayfs' legacy `lowerdir=a:b` echoes the user's own backslash escapes (`\\:`, `\\,`,
  `\\\\`), so after octal decoding the value is split on unescaped `:` and only then are
  the user's backslashes dropped. `lowerdir+=`/`datadir+=` values carry no user escapes.
"""

from __future__ import annotations

import re

#: `\\NNN` with a value below 0o200, exactly what moby's `unescape` (Kata's mount-table reader)
#: decodes. The kernel only ever writes `\\040 \\011 \\012 \\134` (and `\\054` in option
#: values); a larger value such as `\\222` is no kernel escape and stays as written.
_OCTAL = re.compile(rb"\\([01][0-7]{2})")


def decode_octal_bytes(raw: bytes) -> bytes:
    """Decode the kernel's `\\NNN` escapes in raw bytes (moby's rules); other bytes unchanged."""
    if b"\\" not in raw:
        return raw
    return _OCTAL.sub(lambda m: bytes((int(m.group(1), 8),)), raw)


def decode_octal(text: str) -> str:
    """Decode `\\NNN` escapes of a str holding surrogate-escaped bytes (see `decode_octal_bytes`)."""
    if "\\" not in text:
        return text
    raw = decode_octal_bytes(text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "surrogateescape")


def decode_path(raw: bytes) -> str:
    """A mount-table field as `str`: octal escapes decoded, then UTF-8 with surrogateescape so
    that any byte sequence (invalid UTF-8 included) round-trips to the same path."""
    return decode_octal_bytes(raw).decode("utf-8", "surrogateescape")


#: Characters the kernel octal-escapes in mountinfo path fields (`mangle()` in fs/proc_namespace.c).
PATH_ESCAPED = " \t\n\\"

_TABLES: dict[str, dict[int, str]] = {}


def encode_octal(text: str, chars: str = PATH_ESCAPED) -> str:
    """The kernel's escaping of `chars` as `\\NNN` (turns a path into a mountinfo key)."""
    table = _TABLES.get(chars)
    if table is None:
        table = _TABLES[chars] = {ord(c): f"\\{ord(c):03o}" for c in chars}
    return text.translate(table)


def split_options(raw: str) -> list[tuple[str, str | None]]:
    """Split a super-options field into (key, decoded value | None), in order.

    Splitting happens on the raw text, so a `\\054` inside a value stays inside it.
    """
    out: list[tuple[str, str | None]] = []
    for item in raw.split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        out.append((decode_octal(key), decode_octal(value) if sep else None))
    return out


def split_overlay_legacy(value: str) -> tuple[list[str], list[str]]:
    """Split an (octal-decoded) legacy `lowerdir=` value into (lower layers, data-only layers).

    `:` separates layers unless escaped with a backslash; `::` starts the data-only layers
    (Linux 6.5+). Each element then loses its overlayfs backslash escapes.
    """
    if "\\" not in value:
        return _split_plain(value.split(":"))
    parts: list[str] = []
    cur: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\" and i + 1 < n:
            cur.append(value[i : i + 2])
            i += 2
            continue
        if ch == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return _split_plain([unescape_overlay(p) for p in parts])


def _split_plain(parts: list[str]) -> tuple[list[str], list[str]]:
    """Split unescaped layer names at the first empty one (the `::` marker)."""
    lowers: list[str] = []
    data: list[str] = []
    target = lowers
    for part in parts:
        if part == "":
            target = data
            continue
        target.append(part)
    return lowers, data


def unescape_overlay(text: str) -> str:
    """Drop overlayfs' user backslash escapes: `\\x` -> `x`."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def escape_overlay(path: str) -> str:
    """What a user must write for `path` in a legacy `lowerdir=` (`\\`, `:` and `,` escaped)."""
    return path.replace("\\", "\\\\").replace(":", "\\:").replace(",", "\\,")
