"""Kata's EROFS rootfs rules: detection, option parsing and byte-exact Go error texts."""

from __future__ import annotations

import pytest

from kata_console.engine.mounts.rootfs import (
    RootFs,
    RootfsError,
    create_erofs_devices,
    is_erofs_rootfs,
    parse_erofs_rootfs_options,
)
from tests.hostdata import BLK, ROOT, HostBuilder

SNAP = f"{ROOT}/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
OPTS = "ro,user_xattr,acl,cache_strategy=readaround"


def rootfs(*options: str, type_: str = "overlay") -> RootFs:
    return RootFs(source="overlay", type=type_, options=list(options))


def test_parse_options_like_go() -> None:
    lowers, upper = parse_erofs_rootfs_options(
        ["workdir=/w", "lowerdir=/a:/b\\:c", "upperdir=/u1", "lowerdir=/d", "upperdir=/u2"]
    )
    assert lowers == ["/a", "/b\\", "c", "/d"]  # Go splits on every ':'
    assert upper == "/u2"


def test_detection_needs_overlay_and_snapshotter_path_or_magic() -> None:
    host = HostBuilder("").host()
    assert is_erofs_rootfs(rootfs(f"lowerdir={SNAP}/1/fs"), host)
    assert not is_erofs_rootfs(rootfs(f"lowerdir={SNAP}/1/fs", type_="erofs"), host)
    assert not is_erofs_rootfs(rootfs("lowerdir=/run/x/t/1/1"), host)
    b = HostBuilder("")
    b.erofs_magic("/run/x/t/1/1")
    assert is_erofs_rootfs(rootfs("lowerdir=/run/x/t/1/1"), b.host())
    assert create_erofs_devices(rootfs("lowerdir=/plain"), host) == []


def test_devices_in_lowerdir_order_read_only_file_backed() -> None:
    b = HostBuilder(
        f"1 0 0:40 / {SNAP}/2/fs ro - erofs {SNAP}/2/layer.erofs {OPTS}\n"
        f"2 0 7:3 / {SNAP}/1/fs ro - erofs /dev/loop3 {OPTS}\n"
    )
    b.file(f"{SNAP}/2/layer.erofs")
    b.file(f"{SNAP}/1/layer.erofs")
    b.loop(3, f"{SNAP}/1/layer.erofs")
    devices = create_erofs_devices(rootfs(f"lowerdir={SNAP}/2/fs:{SNAP}/1/fs"), b.host())
    assert [d.to_dict() for d in devices] == [
        {
            "host_path": f"{SNAP}/2/layer.erofs",
            "container_path": f"{SNAP}/2/layer.erofs",
            "dev_type": "b",
            "major": -1,
            "minor": 0,
            "read_only": True,
        },
        {
            "host_path": f"{SNAP}/1/layer.erofs",
            "container_path": f"{SNAP}/1/layer.erofs",
            "dev_type": "b",
            "major": -1,
            "minor": 0,
            "read_only": True,
        },
    ]


def test_block_device_source_keeps_major_minor() -> None:
    import os

    b = HostBuilder(f"1 0 0:40 / {SNAP}/2/fs ro - erofs /dev/vdb/layer.erofs {OPTS}\n")
    b.file("/dev/vdb/layer.erofs", mode=BLK)
    b.data["calls"]["stat"]["/dev/vdb/layer.erofs"]["rdev"] = os.makedev(254, 16)
    (d,) = create_erofs_devices(rootfs(f"lowerdir={SNAP}/2/fs"), b.host())
    assert (d.major, d.minor, d.read_only) == (254, 16, True)


@pytest.mark.parametrize(
    ("mountinfo", "setup", "expected"),
    [
        ("", None, f"erofs mount not found for {SNAP}/1/fs"),
        (
            f"1 0 0:40 / {SNAP}/1/fs ro - ext4 /dev/vda rw\n",
            None,
            f"erofs mount not found for {SNAP}/1/fs",
        ),
        (
            f"1 0 7:4 / {SNAP}/1/fs ro - erofs /dev/loop4 {OPTS}\n",
            "fsmeta",
            f"unsupported mount source {SNAP}/1/fsmeta.erofs for {SNAP}/1/fs",
        ),
        (
            f"1 0 7:5 / {SNAP}/1/fs ro - erofs /dev/loop5 {OPTS}\n",
            None,
            "open /sys/block/loop5/loop/backing_file: no such file or directory",
        ),
        (
            f"1 0 0:41 / {SNAP}/1/fs ro - erofs {SNAP}/1/layer.erofs {OPTS}\n",
            None,
            f'stat "{SNAP}/1/layer.erofs" failed: no such file or directory',
        ),
    ],
)
def test_go_error_texts(mountinfo: str, setup: str | None, expected: str) -> None:
    b = HostBuilder(mountinfo)
    if setup == "fsmeta":
        b.loop(4, f"{SNAP}/1/fsmeta.erofs")
    with pytest.raises(RootfsError) as err:
        create_erofs_devices(rootfs(f"lowerdir={SNAP}/1/fs"), b.host())
    assert str(err.value) == expected


def test_upper_rwlayer_rule() -> None:
    mm = "/run/containerd/io.containerd.mount-manager.v1.bolt/t/7"
    text = (
        f"1 0 0:40 / {mm}/1 ro - erofs {SNAP}/1/layer.erofs {OPTS}\n"
        f"2 0 7:9 / {mm}/2 rw - ext4 /dev/loop9 rw\n"
    )
    b = HostBuilder(text)
    b.file(f"{SNAP}/1/layer.erofs")
    b.file(f"{SNAP}/2/rwlayer.img")
    b.loop(9, f"{SNAP}/2/rwlayer.img", ro=0)
    b.erofs_magic(f"{mm}/1")
    devices = create_erofs_devices(rootfs(f"lowerdir={mm}/1", f"upperdir={mm}/2/upper"), b.host())
    assert [(d.host_path, d.read_only) for d in devices] == [
        (f"{SNAP}/1/layer.erofs", True),
        (f"{SNAP}/2/rwlayer.img", False),
    ]
    b.loop(9, f"{SNAP}/2/disk.img", ro=0)
    b.file(f"{SNAP}/2/disk.img")
    with pytest.raises(RootfsError) as err:
        create_erofs_devices(rootfs(f"lowerdir={mm}/1", f"upperdir={mm}/2/upper"), b.host())
    assert str(err.value) == f"unsupported upper blockfile {SNAP}/2/disk.img for {mm}/2/upper"
    # No mount under dirname(upper): the upper stays in the guest, silently.
    assert (
        len(create_erofs_devices(rootfs(f"lowerdir={mm}/1", "upperdir=/elsewhere/x/fs"), b.host()))
        == 1
    )


def test_go_path_functions() -> None:
    from kata_console.engine.mounts.rootfs import go_base, go_dir

    assert [go_base(p) for p in ("", "/", "//", "/a/layer.erofs/", "a", "/a/b")] == [
        ".",
        "/",
        "/",
        "layer.erofs",
        "a",
        "b",
    ]
    assert [go_dir(p) for p in ("diff", "", "/a/b/", "/a", "//a//b/c", "a/b")] == [
        ".",
        ".",
        "/a/b",
        "/",
        "/a/b",
        "a",
    ]


def test_basename_and_dirname_follow_go_not_posix() -> None:
    """filepath.Base ignores a trailing slash (the source is accepted); filepath.Dir of a
    bare name is "." (no mount has that prefix, so there is no upper device at all)."""
    b = HostBuilder(
        f"1 0 0:40 / {SNAP}/2/fs ro - erofs {SNAP}/2/layer.erofs/ {OPTS}\n"
        "2 0 8:1 / / rw - ext4 /dev/vda rw\n"
    )
    b.file(f"{SNAP}/2/layer.erofs/")
    devices = create_erofs_devices(rootfs(f"lowerdir={SNAP}/2/fs", "upperdir=diff"), b.host())
    assert [d.host_path for d in devices] == [f"{SNAP}/2/layer.erofs/"]
