"""Mount table parsing: formats, malformed lines, overmounts, lazy indexes vs a full parse."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kata_console.engine.mounts.escapes import encode_octal
from kata_console.engine.mounts.mounttable import (
    MOUNTINFO,
    PROC_MOUNTS,
    MountTable,
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
