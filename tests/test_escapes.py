"""Kernel octal escapes and overlayfs escapes: samples from the reference and round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kata_console.engine.gofmt import go_quote
from kata_console.engine.mounts.escapes import (
    decode_octal,
    encode_octal,
    escape_overlay,
    split_options,
    split_overlay_legacy,
)

# Paths as the kernel and overlayfs can carry them: anything but NUL, '/'-separated.
segment = st.text(st.characters(exclude_characters="\x00/", codec="utf-8"), min_size=1, max_size=12)
paths = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


def kernel_option(value: str) -> str:
    """What `seq_show_option` prints for an option value: octal for space, tab, LF, \\ and ,"""
    return encode_octal(value, " \t\n\\,")


def test_reference_f3_lowerdir_decodes_to_real_paths() -> None:
    raw = (
        "lowerdir=/r/sc/sp\\040ace/fs:/r/sc/ta\\011b/fs:/r/sc/new\\012line/fs:"
        "/r/sc/back\\134\\134slash/fs:/r/sc/co\\134:lon/fs:/r/sc/com\\134\\054ma/fs:"
        "/r/sc/eq=ual/fs,upperdir=/r/sc/up\\040per/fs,workdir=/r/sc/up\\040per/work,uuid=on"
    )
    opts = split_options(raw)
    assert [k for k, _ in opts] == ["lowerdir", "upperdir", "workdir", "uuid"]
    lowers, data = split_overlay_legacy(opts[0][1])
    assert lowers == [
        f"/r/sc/{n}/fs"
        for n in ("sp ace", "ta\tb", "new\nline", "back\\slash", "co:lon", "com,ma", "eq=ual")
    ]
    assert data == []
    assert opts[1] == ("upperdir", "/r/sc/up per/fs")


def test_data_only_layers_after_double_colon() -> None:
    assert split_overlay_legacy("/a/fs::/d/fs") == (["/a/fs"], ["/d/fs"])
    assert split_overlay_legacy("/a:/b::/c:/d") == (["/a", "/b"], ["/c", "/d"])


def test_comma_inside_a_value_does_not_split_options() -> None:
    assert split_options("lowerdir+=/x/com\\054ma/fs,uuid=on") == [
        ("lowerdir+", "/x/com,ma/fs"),
        ("uuid", "on"),
    ]


def test_non_escape_backslash_sequences_are_kept() -> None:
    assert decode_octal("a\\9b\\x") == "a\\9b\\x"
    # The kernel writes UTF-8 as raw bytes; \\303 is above 0o177, which moby leaves alone.
    assert decode_octal("\\303\\251") == "\\303\\251"
    assert decode_octal("é\\040x") == "é x"


@given(st.text(st.characters(exclude_characters="\x00", codec="utf-8")))
def test_octal_round_trip(text: str) -> None:
    assert decode_octal(encode_octal(text)) == text


@given(st.lists(paths, min_size=1, max_size=5), st.lists(paths, max_size=3))
def test_legacy_lowerdir_round_trip(lowers: list[str], data: list[str]) -> None:
    value = ":".join(escape_overlay(p) for p in lowers)
    if data:
        value += "::" + ":".join(escape_overlay(p) for p in data)
    shown = f"lowerdir={kernel_option(value)},uuid=on"
    (key, decoded), _ = split_options(shown)
    assert key == "lowerdir"
    assert split_overlay_legacy(decoded) == (lowers, data)


@given(st.lists(paths, min_size=1, max_size=5))
def test_lowerdir_plus_round_trip(lowers: list[str]) -> None:
    shown = ",".join(f"lowerdir+={kernel_option(p)}" for p in lowers)
    assert [v for _, v in split_options(shown)] == lowers


def test_go_quote_matches_strconv_quote() -> None:
    assert go_quote('a "b"\tc\\') == '"a \\"b\\"\\tc\\\\"'
    assert go_quote("x\x01y") == '"x\\x01y"'
    assert go_quote("sp ace/é") == '"sp ace/é"'
