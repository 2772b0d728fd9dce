"""Mount table parsing: formats, malformed lines, overmounts, lazy indexes vs a full parse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kata_console.engine.mounts.escapes import encode_octal
from kata_console.engine.mounts.linecheck import line_ok, line_problem
from kata_console.engine.mounts.mounttable import (
    MOUNTINFO,
    PROC_MOUNTS,
    MountTable,
    MountTableError,
    overlay_layers,
)

F4_ROOTFS3 = (
    "88 27 0:60 / /r/rootfs3 rw,relatime - overlay overlay rw,lowerdir+=/r/sc/sp\\040ace/fs,"
    "lowerdir+=/r/sc/co:lon/fs,lowerdir+=/r/sc/com\\054ma/fs,lowerdir+=/r/sc/c\\072x/fs,"
    "datadir+=/r/sc/eq=ual/fs,upperdir=/r/up3/fs,workdir=/r/up3/work,uuid=on"
)
F4_ROOTFS9 = (
    "89 27 0:61 / /r/rootfs9 rw,relatime - overlay overlay rw,lowerdir=/r/sc/sp\\040ace/fs,"
    "upperdir=/r/ucomma/u\\134\\054p:x,workdir=/r/ucomma/w\\134\\054k,uuid=on"
)


def test_overlay_plus_options_and_legacy_upper_escapes() -> None:
    table = MountTable(F4_ROOTFS3 + "\n" + F4_ROOTFS9 + "\n")
    ovl3 = overlay_layers(table.at("/r/rootfs3"))
    assert ovl3.lowers == ["/r/sc/sp ace/fs", "/r/sc/co:lon/fs", "/r/sc/com,ma/fs", "/r/sc/c:x/fs"]
    assert ovl3.data == ["/r/sc/eq=ual/fs"]
    assert (ovl3.upper, ovl3.work) == ("/r/up3/fs", "/r/up3/work")
    ovl9 = overlay_layers(table.at("/r/rootfs9"))
    assert (ovl9.upper, ovl9.work) == ("/r/ucomma/u,p:x", "/r/ucomma/w,k")


def test_proc_mounts_format() -> None:
    text = (
        "/r/sp\\040ace/layer.erofs /r/sp\\040ace/fs erofs ro,relatime 0 0\n"
        "overlay /r/rootfs overlay rw,lowerdir=/r/sp\\040ace/fs 0 0\n"
    )
    table = MountTable(text)
    assert table.format == PROC_MOUNTS
    (erofs,) = table.of_type("erofs")
    assert (erofs.source, erofs.mountpoint, erofs.majmin) == (
        "/r/sp ace/layer.erofs",
        "/r/sp ace/fs",
        None,
    )
    assert overlay_layers(table.of_type("overlay")[0]).lowers == ["/r/sp ace/fs"]


def test_malformed_lines_are_skipped_with_line_numbers() -> None:
    text = (
        "1 0 254:0 / / rw - ext4 /dev/vda rw\n"
        "garbage without fields\n"
        "2 1 0:30 / /proc rw - proc proc rw\n"
        "x y 0:31 / /sys rw - sysfs sysfs rw\n"
        "\n"
        "3 1 0:32 / /run rw - tmpfs tmpfs rw\n"
    )
    table = MountTable(text)
    assert table.format == MOUNTINFO
    assert [m.mountpoint for m in table] == ["/", "/proc", "/run"]
    assert [w.split(":")[0] for w in table.warnings] == ["line 2", "line 4", "line 5"]
    assert table.at("/run").id == 3


def test_overmount_stack_and_bind_sub_root() -> None:
    text = (
        "96 27 0:87 / /r/mnt/fsmnt ro - erofs /r/fsm.erofs ro\n"
        "103 102 0:95 / /r/shr/fs ro shared:2 - erofs /r/a.erofs ro\n"
        "110 96 0:102 / /r/mnt/fsmnt ro - erofs /r/b.erofs ro\n"
        "104 102 0:95 /etc /r/shr/bind ro shared:2 - erofs /r/a.erofs ro\n"
        "111 110 0:103 / /r/mnt/fsmnt ro - tmpfs tmpfs rw\n"
    )
    table = MountTable(text)
    assert [m.id for m in table.all_at("/r/mnt/fsmnt")] == [96, 110, 111]
    assert table.at("/r/mnt/fsmnt").id == 111
    bind = table.at("/r/shr/bind")
    assert (bind.root, bind.optional) == ("/etc", ("shared:2",))
    assert [m.id for m in table.by_majmin("0:95")] == [103, 104]
    assert table.by_id(110).source == "/r/b.erofs"
    mount, sub = table.containing("/r/shr/fs/deep/er")
    assert (mount.id, sub) == (103, "deep/er")
    assert table.first_with_prefix("/r/shr").id == 103


mountpoints = st.lists(
    st.text(st.characters(exclude_characters="\x00/", codec="utf-8"), min_size=1, max_size=6),
    min_size=1,
    max_size=3,
).map(lambda p: "/" + "/".join(p))


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(mountpoints, st.sampled_from(["erofs", "overlay", "tmpfs"])),
        min_size=1,
        max_size=30,
    )
)
def test_lazy_indexes_agree_with_a_full_parse(rows: list[tuple[str, str]]) -> None:
    lines = []
    for i, (mp, fstype) in enumerate(rows):
        parent = next((10 + j for j in range(i - 1, -1, -1) if rows[j][0] == mp), 1)
        lines.append(f"{10 + i} {parent} 0:{i} / {encode_octal(mp)} rw - {fstype} src{i} rw")
    table = MountTable("\n".join(lines) + "\n")
    full = list(table)
    assert [m.mountpoint for m in full] == [mp for mp, _ in rows]
    for mp, _ in rows:
        same = [m for m in full if m.mountpoint == mp]
        assert table.all_at(mp) == same
        assert table.at(mp) == same[-1]  # each repeat is mounted on top of the previous
    for fstype in ("erofs", "overlay"):
        assert table.of_type(fstype) == [m for m in full if m.fstype == fstype]


def test_every_line_is_validated_even_when_each_has_a_separator() -> None:
    """All lines carry ' - ', so a count of separators cannot tell them apart: each line is
    still checked (ids, MAJ:MIN, empty fields, the fields after the separator)."""
    text = (
        "1 0 254:0 / / rw - ext4 /dev/vda rw\n"
        "x 1 0:30 / /proc rw - proc proc rw\n"
        "3 1 0-31 / /sys rw - sysfs sysfs rw\n"
        "4 1 0:32 / /run rw - tmpfs tmpfs\n"
        "5 1 0:33 / /dev rw - devtmpfs devtmpfs rw\n"
        "6 1 0:34  /empty-root rw - tmpfs tmpfs rw\n"
    )
    table = MountTable(text)
    assert [m.mountpoint for m in table] == ["/", "/dev"]
    assert [w.split(" (")[0] for w in table.warnings] == [
        "line 2: malformed mountinfo line skipped",
        "line 3: malformed mountinfo line skipped",
        "line 4: malformed mountinfo line skipped",
        "line 6: malformed mountinfo line skipped",
    ]
    assert "mount id 'x' is not a number" in table.warnings[0]
    assert "MAJ:MIN '0-31' is not two numbers" in table.warnings[1]
    assert table.at("/proc") is None and table.at("/sys") is None and table.at("/run") is None
    assert table.at("/dev").id == 5


def test_warnings_are_complete_after_lookups() -> None:
    text = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /a rw - ext4\n3 1 8:3 / /b rw - ext4 /dev/sdb rw\n"
    table = MountTable(text)
    assert table.at("/a") is None and table.at("/b").id == 3
    assert [w[:7] for w in table.warnings] == ["line 2:"]
    assert [w[:7] for w in table.warnings] == ["line 2:"]  # reading twice adds nothing


def test_a_garbage_first_line_does_not_reject_the_table() -> None:
    for good in (
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:3 / /proc rw - proc proc rw\n",
        "/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n",
    ):
        table = MountTable("#!garbage line\n" + good)
        assert [m.mountpoint for m in table] == ["/", "/proc"]
        assert [w[:7] for w in table.warnings] == ["line 1:"]
    assert MountTable("junk\n" * 100 + "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").format == MOUNTINFO


def test_not_a_mount_table_at_all() -> None:
    with pytest.raises(MountTableError, match=r"no line is a mountinfo or /proc/mounts line"):
        MountTable("hello\nworld\n")
    assert MountTable("").format == MOUNTINFO and list(MountTable("\n")) == []


def test_lookups_use_the_decoded_path() -> None:
    """The kernel writes '#' raw; a table written by another tool may say \\043. Either way
    the mount is found by the path it names, and a literal backslash is a different path."""
    text = (
        "1 0 8:1 / /mnt/a\\043b rw - ext4 /dev/sda1 rw\n"
        "2 0 8:2 / /mnt/sp\\040ace rw - ext4 /dev/sda2 rw\n"
        "3 0 8:3 / /mnt/back\\134043slash rw - ext4 /dev/sda3 rw\n"
    )
    table = MountTable(text)
    assert table.at("/mnt/a#b").id == 1
    assert table.at("/mnt/sp ace").id == 2
    assert table.at("/mnt/back\\043slash").id == 3
    assert table.at("/mnt/a\\043b") is None
    assert table.containing("/mnt/a#b/x/y")[0].id == 1
    assert table.first_with_prefix("/mnt/a#").id == 1


def test_raw_bytes_carriage_return_and_invalid_utf8() -> None:
    """Split on \\n only; every other byte (\\r, \\x85, \\u2028, invalid UTF-8) stays in the path."""
    raw = (
        b"1 0 8:1 / /mnt/cr\rlf rw - ext4 /dev/sda1 rw\n"
        b"2 0 8:2 / /mnt/\xff\xfe\x85 rw - ext4 /dev/sd\xe2\x80\xa8b rw\n"
        b"3 0 8:3 / /mnt/ok rw - ext4 /dev/sdc rw\r\n"
    )
    table = MountTable(raw)
    assert len(table) == 3 and table.warnings == []
    assert table.at("/mnt/cr\rlf").id == 1
    odd = table.at(b"/mnt/\xff\xfe\x85".decode("utf-8", "surrogateescape"))
    assert odd.id == 2 and odd.source == "/dev/sd\u2028b"
    assert table.at("/mnt/ok").super_options == "rw\r"  # kept: not ours to drop
    assert MountTable(raw.decode("utf-8", "surrogateescape")).at("/mnt/cr\rlf").id == 1


_field = st.text(st.sampled_from("0 1:-a/\\"), max_size=6)


@settings(max_examples=400)
@given(st.lists(_field, min_size=1, max_size=14).map(" ".join))
def test_the_fast_check_and_the_explanation_agree(line: str) -> None:
    """The regex that checks every line and `line_problem` that explains a refusal apply the
    same rules: a line is refused by one exactly when the other has a reason."""
    raw = line.encode()
    for fmt in (MOUNTINFO, PROC_MOUNTS):
        if line_ok(fmt, raw):
            assert _rule_check(fmt, raw) is None, (fmt, line)
        else:
            assert _rule_check(fmt, raw) is not None, (fmt, line)
            assert line_problem(fmt, raw)


def _rule_check(fmt: str, raw: bytes) -> str | None:
    """The rules written out field by field (libmount/moby), independent of the regex."""
    f = raw.split(b" ")
    if fmt == PROC_MOUNTS:
        ok = len(f) == 6 and all(f[1:4]) and f[4].isdigit() and f[5].isdigit()
        return None if ok else "bad"
    if len(f) < 10 or not (f[0].isdigit() and f[1].isdigit()):
        return "bad"
    ma, colon, mi = f[2].partition(b":")
    if not (colon and ma.isdigit() and mi.isdigit()) or not all(f[3:6]):
        return "bad"
    seps = [i for i in range(6, len(f)) if f[i] == b"-"]
    if not seps or len(f) < seps[0] + 4 or not f[seps[0] + 1] or not f[seps[0] + 3]:
        return "bad"
    return None
