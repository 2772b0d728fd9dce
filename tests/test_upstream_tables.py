"""util-linux's and moby's own mount-table tests, run against our reader.

The tables and util-linux's expected parser output are in `fixtures/mounttables/` (see
ORIGIN.md); moby's inline cases (`TestParseMountinfoExtraCases`, `TestUnescape`,
`TestParseMountInfo`, `TestParseMountinfoWithSpaces` in moby/sys
mountinfo/mountinfo_linux_test.go at d7c3b9ed) are transcribed below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kata_console.engine.mounts.escapes import decode_octal
from kata_console.engine.mounts.mounttable import MOUNTINFO, PROC_MOUNTS, MountTable
from tests.conftest import REPO

TABLES = REPO / "fixtures/mounttables"


def util_linux_expected(path: Path) -> list[dict[str, str]]:
    """Parse libmount's `--parse` test output: `------ fs:` blocks of `key: value` lines.
    Split on `\\n` only: one expected target holds a raw `\\r`."""
    entries: list[dict[str, str]] = []
    for line in path.read_bytes().decode().split("\n"):
        if line.startswith("------ fs:"):
            entries.append({})
        elif entries and ": " in line:
            key, _, value = line.partition(":")
            entries[-1][key] = value.lstrip(" ")
    return entries


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("mountinfo", "tabfiles-parse-mountinfo"),
        ("mountinfo_nosrc", "tabfiles-parse-mountinfo-nosrc"),
    ],
)
def test_util_linux_mountinfo_parse(table: str, expected: str) -> None:
    mt = MountTable((TABLES / "util-linux" / table).read_bytes())
    want = util_linux_expected(TABLES / "util-linux" / f"{expected}.expected")
    got = list(mt)
    assert mt.format == MOUNTINFO and mt.warnings == []
    assert len(got) == len(want) == len(mt)
    for m, e in zip(got, want, strict=True):
        assert m.source == e["source"]
        assert m.mountpoint == e["target"]
        assert m.fstype == e["fstype"]
        assert m.vfs_options == e["VFS-optstr"]
        assert m.super_options == e["FS-opstr"]
        assert m.root == e["root"]
        assert (m.id, m.parent) == (int(e["id"]), int(e["parent"]))
        assert m.majmin == e["devno"]
        assert " ".join(m.optional) == e.get("optional-fields", "").strip("'")


def test_util_linux_carriage_return_mountpoint_is_found() -> None:
    mt = MountTable((TABLES / "util-linux/mountinfo").read_bytes())
    m = mt.at("/mnt/test/foo\rbar")
    assert m is not None and (m.id, m.optional) == (49, ("shared:323",))


def test_util_linux_mtab_is_proc_mounts_format() -> None:
    mt = MountTable((TABLES / "util-linux/mtab").read_bytes())
    want = util_linux_expected(TABLES / "util-linux/tabfiles-parse-mtab.expected")
    got = list(mt)
    assert mt.format == PROC_MOUNTS and mt.warnings == []
    assert [(m.source, m.mountpoint, m.fstype, m.super_options) for m in got] == [
        (e["source"], e["target"], e["fstype"], e["optstr"]) for e in want
    ]
    assert got[-1].mountpoint.startswith("/var/tmp/\t\t\t")  # \011 decoded
    assert all(m.id is None and m.majmin is None for m in got)


@pytest.mark.parametrize(
    ("name", "count", "first"),
    [
        ("fedora", 58, (15, 35, "0:3", "/", "/proc", "rw,nosuid,nodev,noexec,relatime")),
        ("gentoo", 222, (15, 1, "8:6", "/", "/", "rw,noatime,nodiratime")),
        ("ubuntu", 130, (15, 20, "0:14", "/", "/sys", "rw,nosuid,nodev,noexec,relatime")),
    ],
)
def test_moby_parse_mountinfo(name: str, count: int, first: tuple) -> None:
    mt = MountTable((TABLES / f"moby/{name}.mountinfo").read_bytes())
    mounts = list(mt)
    assert len(mounts) == count and mt.warnings == []
    m = mounts[0]
    assert (m.id, m.parent, m.majmin, m.root, m.mountpoint, m.vfs_options) == first


def test_moby_fedora_first_entry_fields() -> None:
    m = next(iter(MountTable((TABLES / "moby/fedora.mountinfo").read_bytes())))
    assert (m.optional, m.fstype, m.source, m.super_options) == (
        ("shared:5",),
        "proc",
        "proc",
        "rw",
    )


def test_moby_mountinfo_with_spaces() -> None:
    mounts = list(MountTable((TABLES / "moby/with-spaces.mountinfo").read_bytes()))
    assert [(m.id, m.mountpoint, m.source, m.super_options) for m in mounts] == [
        (486, "/mnt/foo bar", "/dev/vda1", "rw,data=ordered"),
        # cifs before Linux 3.10 could put spaces in the last field: the rest is dropped
        (31, "/DATA/foo_bla_bla", "//foo/BLA BLA BLA/", "rw,sec=ntlm,cache=loose,unc=\\\\foo\\BLA"),
        (
            649,
            "/tmp/newline\ntab\tspace backslash\\quote1'quote2\"",
            "/dev/nvme0n1p5",
            "rw,seclabel",
        ),
    ]
    assert mounts[2].root == mounts[2].mountpoint
    assert mounts[0].optional == ("shared:243",)


@pytest.mark.parametrize(
    ("entry", "valid", "expected"),
    [
        ("251 15 0:3573 / /mnt/point rw,relatime - aufs none rw", True, None),
        ("251 15 0:3573 / /mnt/point rw,relatime aufs none rw", False, None),
        ("251 15 0:3573 / /mnt/point rw,relatime - aufs none", False, None),
        ("251 15 0:3573 / /mnt/point rw,relatime shared:1 aufs none rw", False, None),
        ("251 15 0:3573 / /mnt/point rw,relatime some extra fields - aufs none", False, None),
        (
            "251 15 0:3573 / /mnt/point rw,relatime - aufs none rw,unc=buggy but we cope",
            True,
            ("/mnt/point", "aufs", "none", ()),
        ),
        (
            "251 15 0:3573 / /mnt/point rw,relatime shared:123 - aufs none rw",
            True,
            ("/mnt/point", "aufs", "none", ("shared:123",)),
        ),
        (
            "251 15 0:3573 / /mnt/point rw,relatime shared:123 extra:tag what:ever key:value - aufs none rw",
            True,
            ("/mnt/point", "aufs", "none", ("shared:123", "extra:tag", "what:ever", "key:value")),
        ),
        (
            "279 23 0:108 / /tmp/bb rw,relatime - tmpfs  rw",
            True,
            ("/tmp/bb", "tmpfs", "", ()),
        ),
    ],
)
def test_moby_extra_cases(entry: str, valid: bool, expected: tuple | None) -> None:
    """moby's TestParseMountinfoExtraCases: an invalid entry fails moby's whole parse; here it
    is skipped with a warning naming line 2, and the good line around it survives."""
    good = "1 0 8:1 / / rw - ext4 /dev/sda1 rw"
    mt = MountTable(f"{good}\n{entry}\n{good.replace('1 0', '3 0', 1)}\n")
    mounts = list(mt)
    if not valid:
        assert [m.id for m in mounts] == [1, 3]
        (warning,) = mt.warnings
        assert warning.startswith("line 2: malformed mountinfo line skipped (")
        return
    assert len(mounts) == 3 and mt.warnings == []
    if expected is not None:
        m = mounts[1]
        assert (m.mountpoint, m.fstype, m.source, m.optional) == expected


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("", ""),
        ("/", "/"),
        ("/some/longer/path", "/some/longer/path"),
        ("/path\\040with\\040spaces", "/path with spaces"),
        ("/path/with\\134backslash", "/path/with\\backslash"),
        ("/tab\\011in/path", "/tab\tin/path"),
        ("/path/\"with'quotes", "/path/\"with'quotes"),
        ("/path/\"with'quotes,\\040space,\\011tab", "/path/\"with'quotes, space,\ttab"),
        ("\\12", "\\12"),
        ("\\134", "\\"),
        ("\"'\"'\"'", "\"'\"'\"'"),
        ("/\\1345", "/\\5"),
        ("/\\12x", "/\\12x"),
        ("\\0", "\\0"),
        ("\\000\\000", "\x00\x00"),
        ("\\x", "\\x"),
        ("\\\\", "\\\\"),
        ("\\177", "\x7f"),
        ("\\222", "\\222"),  # above 0o177: no kernel escape, kept as written
        ("Это\\040комон\\040какой-то", "Это комон какой-то"),  # noqa: RUF001
    ],
)
def test_moby_unescape(raw: str, decoded: str) -> None:
    assert decode_octal(raw) == decoded
