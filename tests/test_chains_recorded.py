"""The resolver on the reference's recorded samples (erofs-chains.md §7, F1-F6)."""

from __future__ import annotations

import os

from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from tests.hostdata import LNK, ROOT, HostBuilder

SNAP = "$ROOT/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
MM = "$ROOT/run/containerd/io.containerd.mount-manager.v1.bolt/t/7"
EROFS_OPTS = "ro,user_xattr,acl,cache_strategy=readaround"

F1 = f"""42 27 0:39 / {SNAP}/1/fs ro,relatime - erofs {SNAP}/1/layer.erofs {EROFS_OPTS}
43 27 7:0 / {SNAP}/2/fs ro,relatime - erofs /dev/loop0 {EROFS_OPTS}
47 27 0:40 / $ROOT/rootfs rw,relatime - overlay overlay rw,lowerdir={SNAP}/2/fs:{SNAP}/1/fs,upperdir={SNAP}/3/fs,workdir={SNAP}/3/work,uuid=on
"""

F2 = f"""27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
89 27 7:11 / {MM}/3 rw,relatime - ext4 /dev/loop11 rw
90 27 0:88 / {MM}/2 ro,relatime - erofs {SNAP}/12/layer.erofs {EROFS_OPTS}
97 27 0:89 / {MM}/1 ro,relatime - erofs {SNAP}/11/layer.erofs {EROFS_OPTS}
101 27 0:90 / $ROOT/run/containerd/io.containerd.runtime.v2.task/k8s.io/c0ffee/rootfs rw,relatime - overlay overlay rw,lowerdir={MM}/2:{MM}/1,upperdir={MM}/3/upper,workdir={MM}/3/work,uuid=on
"""


def r(text: str) -> str:
    return text.replace("$ROOT", ROOT)


def f1_host() -> HostBuilder:
    b = HostBuilder(F1)
    b.file(f"{SNAP}/1/layer.erofs")
    ino = b.file(f"{SNAP}/2/layer.erofs")
    b.loop(0, f"{SNAP}/2/layer.erofs", ino=ino)
    return b


def test_f1_containerd_21_chain() -> None:
    host = f1_host().host()
    report = resolve_chains(MountTable(host.read_mountinfo()), host)
    (chain,) = report.chains
    lo0, lo1, up = chain.layers
    assert lo0.device.kind == "loop" and lo0.device.name == "loop0"
    assert lo0.backing_file == r(f"{SNAP}/2/layer.erofs") and lo0.status == "ok"
    assert lo1.device.kind == "file" and lo1.majmin == "0:39" and lo1.status == "ok"
    assert up.role == "upper" and up.snapshot.id == "3"
    assert chain.erofs is True and chain.kata_verdict is None
    assert [e.target for e in report.erofs_mounts] == [r(f"{SNAP}/1/fs"), r(f"{SNAP}/2/fs")]


def test_f1_loop_inode_mismatch_is_reported() -> None:
    """A backing_file path that now names another file (replaced) is not trusted."""
    b = f1_host()
    b.loop(0, f"{SNAP}/2/layer.erofs", ino=424242)
    host = b.host()
    lo0 = resolve_chains(MountTable(host.read_mountinfo()), host).chains[0].layers[0]
    assert lo0.status == "unresolvable" and "424242" in lo0.reason


def test_f2_mount_manager_activation_and_block_mode_upper() -> None:
    b = HostBuilder(F2)
    b.file(f"{SNAP}/12/layer.erofs")
    b.file(f"{SNAP}/11/layer.erofs")
    b.text(f"{MM}/2-type".replace("$ROOT", ROOT), "erofs\n")
    ino = b.file(f"{SNAP}/13/rwlayer.img")
    b.loop(11, f"{SNAP}/13/rwlayer.img", ino=ino, ro=0, autoclear=1)
    b.erofs_magic(f"{MM}/2")
    host = b.host()
    (chain,) = resolve_chains(MountTable(host.read_mountinfo()), host).chains
    assert chain.bundle == {"namespace": "k8s.io", "id": "c0ffee"}
    l2, l1, upper = chain.layers
    assert l2.activation == {"id": "7", "n": "2", "type": "erofs"}
    assert l1.activation == {"id": "7", "n": "1", "type": None}
    assert l2.snapshot.id == "12" and l2.snapshot.role == "layer.erofs"
    assert upper.device.kind == "loop" and upper.backing_file == r(f"{SNAP}/13/rwlayer.img")
    assert upper.snapshot.role == "rwlayer.img" and upper.subpath == "upper"
    assert chain.erofs is True  # by magic: the lowers are mount-manager paths
    assert chain.kata_verdict is None and upper.kata_error is None


def test_f2_upper_that_is_not_rwlayer_gets_the_go_error() -> None:
    b = HostBuilder(F2)
    b.file(f"{SNAP}/12/layer.erofs")
    b.file(f"{SNAP}/11/layer.erofs")
    ino = b.file(f"{SNAP}/13/other.img")
    b.loop(11, f"{SNAP}/13/other.img", ino=ino, ro=0)
    b.erofs_magic(f"{MM}/2")
    host = b.host()
    (chain,) = resolve_chains(MountTable(host.read_mountinfo()), host).chains
    expected = r(f"unsupported upper blockfile {SNAP}/13/other.img for {MM}/3/upper")
    assert chain.layers[-1].kata_error == expected and chain.kata_verdict == expected


F5 = f"""50 27 0:44 / $ROOT/mnt/fb_del ro,relatime - erofs $ROOT/del/y.erofs {EROFS_OPTS}
51 27 0:45 / $ROOT/mnt/rel ro,relatime - erofs rel.erofs {EROFS_OPTS}
52 27 0:46 / $ROOT/mnt/fb_sym ro,relatime - erofs $ROOT/snapN/layer.erofs {EROFS_OPTS}
53 27 7:2 / $ROOT/mnt/loop_sym ro,relatime - erofs /dev/loop2 {EROFS_OPTS}
96 27 0:87 / $ROOT/mnt/fsmnt ro,relatime - erofs $ROOT/fsm.erofs {EROFS_OPTS}
110 96 0:102 / $ROOT/mnt/fsmnt ro,relatime - erofs $ROOT/b.erofs {EROFS_OPTS}
"""


def test_f5_erofs_source_edge_cases() -> None:
    b = HostBuilder(F5)
    b.file("$ROOT/snapN/layer.erofs", lmode=LNK, target="$ROOT/cache/0123abcd.erofs")
    ino = b.file("$ROOT/cache/0123abcd.erofs")
    b.loop(2, "$ROOT/cache/0123abcd.erofs", ino=ino)
    b.file("$ROOT/b.erofs")
    host = b.host()
    table = MountTable(host.read_mountinfo())
    by_target = {e.target: e for e in resolve_chains(table, host).erofs_mounts}
    assert by_target[r("$ROOT/mnt/fb_del")].status == "missing"
    assert by_target[r("$ROOT/mnt/rel")].status == "relative"
    sym = by_target[r("$ROOT/mnt/fb_sym")]
    assert sym.status == "ok" and sym.device.symlink_target == r("$ROOT/cache/0123abcd.erofs")
    assert by_target[r("$ROOT/mnt/loop_sym")].backing_file == r("$ROOT/cache/0123abcd.erofs")
    # Overmount: the visible mount is the child (110 on top of 96).
    assert table.at(r("$ROOT/mnt/fsmnt")).id == 110


F6 = f"""60 27 7:1 / $ROOT/mnt/loop_del ro,relatime - erofs /dev/loop1 {EROFS_OPTS}
61 27 7:4 / $ROOT/mnt/nl ro,relatime - erofs /dev/loop4 {EROFS_OPTS}
62 27 7:6 / $ROOT/mnt/outer ro,relatime - erofs /dev/loop6 {EROFS_OPTS}
63 27 7:7 / $ROOT/mnt/inner ro,relatime - erofs /dev/loop7 {EROFS_OPTS}
64 27 7:10 / $ROOT/mnt/ns ro,relatime - erofs /dev/loop10 {EROFS_OPTS}
65 27 7:12 / $ROOT/mnt/gone ro,relatime - erofs /dev/loop12 {EROFS_OPTS}
"""


def test_f6_loop_edge_cases() -> None:
    b = HostBuilder(F6)
    b.loop(1, "$ROOT/del/x.erofs (deleted)", ino=2164263)
    nl_ino = b.file("$ROOT/nl/a\nb/layer.erofs")
    b.loop(4, "$ROOT/nl/a\nb/layer.erofs", ino=nl_ino)
    outer_ino = b.file("$ROOT/outer.erofs")
    b.loop(6, "$ROOT/outer.erofs", ino=outer_ino)
    inner_ino = b.file("$ROOT/mnt/outer/inner.erofs", dev=os.makedev(7, 6), ino=40)
    b.loop(7, "$ROOT/mnt/outer/inner.erofs", ino=inner_ino, dev=os.makedev(7, 6))
    b.text("/sys/dev/block/7:6/loop", "")  # exists: the backing file sits on a loop
    b.loop(10, "/ns.erofs", ino=2173206)  # rendered in a namespace that no longer exists
    b.loop(12, None)
    host = b.host()
    by = {e.target: e for e in resolve_chains(MountTable(host.read_mountinfo()), host).erofs_mounts}
    deleted = by[r("$ROOT/mnt/loop_del")]
    assert deleted.status == "deleted" and deleted.backing_file == r("$ROOT/del/x.erofs")
    assert deleted.device.deleted and deleted.device.inode == 2164263
    assert by[r("$ROOT/mnt/nl")].backing_file == r("$ROOT/nl/a\nb/layer.erofs")
    assert by[r("$ROOT/mnt/nl")].status == "ok"
    inner = by[r("$ROOT/mnt/inner")]
    assert inner.device.parent.name == "loop6" and inner.device.parent.mount == r("$ROOT/mnt/outer")
    assert inner.device.parent.backing_file == r("$ROOT/outer.erofs")
    ns = by[r("$ROOT/mnt/ns")]
    assert ns.status == "missing" and ns.backing_file == "/ns.erofs"
    assert by[r("$ROOT/mnt/gone")].status == "detached"


def test_relative_lowerdirs_resolve_against_the_compacted_parent() -> None:
    text = (
        f"42 27 0:39 / {SNAP}/1286/fs ro,relatime - erofs {SNAP}/1286/layer.erofs {EROFS_OPTS}\n"
        f"47 27 0:40 / $ROOT/rootfs rw,relatime - overlay overlay rw,lowerdir=1286/fs:1285/fs,"
        f"upperdir={SNAP}/1287/fs,workdir={SNAP}/1287/work\n"
    )
    b = HostBuilder(text)
    b.file(f"{SNAP}/1286/layer.erofs")
    host = b.host()
    (chain,) = resolve_chains(MountTable(host.read_mountinfo()), host).chains
    first, second, _upper = chain.layers
    # 2.1 layout: upper snapshots/<id>/fs and layers <id>/fs, so the base is snapshots/
    assert first.status == "ok" and first.backing_file == r(f"{SNAP}/1286/layer.erofs")
    assert first.base == r(SNAP) and "resolved against" in first.reason
    assert second.status == "not-mounted" and second.base == r(SNAP)
    # Kata is handed the absolute paths containerd named, so its verdict is on those
    assert first.kata_error is None
    assert second.kata_error == r(f"erofs mount not found for {SNAP}/1285/fs")
    assert chain.kata_verdict == second.kata_error


def test_paths_filter_and_fd_layer() -> None:
    text = f"""70 27 0:50 / $ROOT/rootfs8 ro,relatime - overlay overlay ro,lowerdir+=$ROOT/sp\\040ace/fs,lowerdir+=/,redirect_dir=on
71 27 0:51 / $ROOT/sp\\040ace/fs ro,relatime - erofs $ROOT/sp\\040ace/layer.erofs {EROFS_OPTS}
{F1}"""
    b = HostBuilder(text)
    b.file("$ROOT/sp ace/layer.erofs")
    host = b.host()
    table = MountTable(host.read_mountinfo())
    report = resolve_chains(table, host, [r("$ROOT/sp ace/layer.erofs")])
    (chain,) = report.chains
    assert chain.target == r("$ROOT/rootfs8")
    assert [la.status for la in chain.layers] == ["ok", "unresolvable"]
    assert [e.target for e in report.erofs_mounts] == [r("$ROOT/sp ace/fs")]
    assert len(resolve_chains(table, host).chains) == 2


def test_disk_backed_erofs_is_a_block_device() -> None:
    b = HostBuilder(f"80 27 254:16 / $ROOT/mnt/vdb ro,relatime - erofs /dev/vdb {EROFS_OPTS}\n")
    b.disk("254:16", "vdb")
    host = b.host()
    (em,) = resolve_chains(MountTable(host.read_mountinfo()), host).erofs_mounts
    assert (em.device.kind, em.device.name, em.backing_file) == ("block", "vdb", None)


def test_dm_verity_follows_slaves_to_the_loop() -> None:
    """containerd 2.3 dm-verity: erofs on /dev/mapper/containerd-erofs-<id> -> dm-0 -> loop."""
    b = HostBuilder(
        f"90 27 253:0 / $ROOT/t/9/1 ro,relatime - erofs /dev/mapper/containerd-erofs-21 {EROFS_OPTS}\n"
    )
    sysdir = "/sys/devices/virtual/block/dm-0"
    b.data["calls"]["realpath"]["/sys/dev/block/253:0"] = sysdir
    b.text(f"{sysdir}/dev", "253:0\n")
    b.text(f"{sysdir}/dm/name", "containerd-erofs-21\n")
    b.text(f"{sysdir}/slaves/loop5/dev", "7:5\n")
    b.data["calls"]["listdir"][f"{sysdir}/slaves"] = ["loop5"]
    ino = b.file(f"{SNAP}/21/layer.erofs")
    b.loop(5, f"{SNAP}/21/layer.erofs", ino=ino, autoclear=1)
    host = b.host()
    (em,) = resolve_chains(MountTable(host.read_mountinfo()), host).erofs_mounts
    assert em.device.kind == "dm" and em.device.dm_name == "containerd-erofs-21"
    assert [s.name for s in em.device.slaves] == ["loop5"]
    assert em.backing_file == r(f"{SNAP}/21/layer.erofs") and em.status == "ok"
    assert (em.snapshot.id, em.snapshot.role) == ("21", "layer.erofs")


def test_partition_continues_with_the_parent_loop() -> None:
    b = HostBuilder(f"91 27 259:0 / $ROOT/mnt/part ro,relatime - erofs /dev/loop8p1 {EROFS_OPTS}\n")
    part = "/sys/devices/virtual/block/loop8/loop8p1"
    b.data["calls"]["realpath"]["/sys/dev/block/259:0"] = part
    b.text(f"{part}/dev", "259:0\n")
    b.text(f"{part}/partition", "1\n")
    b.text(f"{part}/start", "2048\n")
    ino = b.file("$ROOT/disk.img")
    b.loop(8, "$ROOT/disk.img", ino=ino)
    host = b.host()
    (em,) = resolve_chains(MountTable(host.read_mountinfo()), host).erofs_mounts
    assert (em.device.kind, em.device.name, em.device.start) == ("partition", "loop8p1", 2048)
    assert em.device.parent.name == "loop8" and em.backing_file == r("$ROOT/disk.img")
