"""The resolver against the real kernel: real erofs images, loops, mounts and overlays."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.host.linux import LinuxHost
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.escapes import escape_overlay
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.mounts.rootfs import RootFs, RootfsError, create_erofs_devices
from tests.kernellab import KernelLab

pytestmark = pytest.mark.kernel

SNAP = "var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def report_for(paths: list[str | Path]):
    host = LinuxHost()
    return resolve_chains(
        MountTable(host.read_mountinfo()), host, [str(p) for p in paths], check_st_dev=True
    )


def chain_at(report, target: Path):
    return next(c for c in report.chains if c.target == str(target))


def test_containerd_21_layout_loop_and_file_backed(lab: KernelLab) -> None:
    """2.1 style: the snapshotter mounts each layer at snapshots/<id>/fs, one file-backed and
    one loop-backed, under one overlay with the upper in snapshots/3/fs."""
    snaps = lab.path(SNAP)
    l1 = lab.mkfs(snaps / "1/layer.erofs", {"a": "base"})
    l2 = lab.mkfs(snaps / "2/layer.erofs", {"b": "top"})
    lab.mount_erofs(l1, snaps / "1/fs")
    loop = lab.losetup(l2)
    lab.mount_erofs(loop, snaps / "2/fs")
    (snaps / "3/fs").mkdir(parents=True)
    (snaps / "3/work").mkdir(parents=True)
    rootfs = lab.path("rootfs")
    lab.mount(
        "overlay",
        rootfs,
        "overlay",
        f"lowerdir={snaps}/2/fs:{snaps}/1/fs,upperdir={snaps}/3/fs,workdir={snaps}/3/work",
    )
    assert (rootfs / "a").read_text() == "base" and (rootfs / "b").read_text() == "top"

    chain = chain_at(report_for([rootfs]), rootfs)
    lower0, lower1, upper = chain.layers
    assert (lower0.role, lower0.index, lower0.path) == ("lower", 0, f"{snaps}/2/fs")
    assert lower0.device.kind == "loop" and f"/dev/{lower0.device.name}" == loop
    assert lower0.device.ro is True and lower0.device.autoclear is False
    assert lower0.backing_file == str(l2) and lower0.status == "ok"
    assert lower0.device.inode == os.stat(l2).st_ino
    assert lower0.snapshot.id == "2" and lower0.snapshot.role == "layer.erofs"
    assert lower1.device.kind == "file" and lower1.backing_file == str(l1)
    assert lower1.majmin.startswith("0:") and lower1.status == "ok"
    assert lower0.reason is None and lower1.reason is None  # st_dev cross-check agreed
    assert (upper.role, upper.path, upper.status) == ("upper", f"{snaps}/3/fs", "ok")
    assert chain.erofs is True and chain.kata_verdict is None
    assert all(layer.kata_error is None for layer in chain.layers)

    devices = create_erofs_devices(
        RootFs("overlay", "overlay", [f"lowerdir={snaps}/2/fs:{snaps}/1/fs"]), LinuxHost()
    )
    assert [(d.host_path, d.major, d.read_only) for d in devices] == [
        (str(l2), -1, True),
        (str(l1), -1, True),
    ]


def test_special_characters_in_legacy_lowerdir(lab: KernelLab) -> None:
    """Spaces, tabs, ':' and ',' in layer paths survive kernel and overlay escaping."""
    names = ["sp ace", "ta\tb", "co:lon", "com,ma", "back\\slash"]
    lowers = []
    for i, name in enumerate(names):
        image = lab.mkfs(lab.path(f"sc/{name}/layer.erofs"), {f"f{i}": name})
        lowers.append(lab.mount_erofs(image, lab.path(f"sc/{name}/fs")))
    up = lab.path("sc/up per")
    (up / "fs").mkdir(parents=True)
    (up / "work").mkdir()
    data = (
        "lowerdir="
        + ":".join(escape_overlay(str(p)) for p in lowers)
        + f",upperdir={escape_overlay(str(up / 'fs'))},workdir={escape_overlay(str(up / 'work'))}"
    )
    rootfs = lab.mount("overlay", lab.path("rootfs2"), "overlay", data)

    chain = chain_at(report_for([rootfs]), rootfs)
    assert [la.path for la in chain.layers if la.role == "lower"] == [str(p) for p in lowers]
    assert [la.backing_file for la in chain.layers[:5]] == [
        str(lab.path(f"sc/{n}/layer.erofs")) for n in names
    ]
    assert all(la.status == "ok" for la in chain.layers)
    assert chain.layers[-1].path == str(up / "fs")
    # Go splits lowerdir= on every ':' so the 'co:lon' layer is looked up in two pieces.
    assert chain.layers[2].kata_error == f"erofs mount not found for {lab.path('sc/co')}"
    # The lowers carry the EROFS magic, so Kata treats it as an EROFS rootfs and refuses it.
    assert chain.erofs is True and chain.kata_verdict == chain.layers[2].kata_error
    assert chain.layers[0].kata_error is None and chain.layers[3].kata_error is None


def test_fsconfig_lowerdir_plus_and_data_layers(lab: KernelLab) -> None:
    """`lowerdir+=` / `datadir+=` (one option per layer) are decoded in order."""
    a = lab.mount_erofs(lab.mkfs("p/co:lon/layer.erofs", {"x": "1"}), lab.path("p/co:lon/fs"))
    b = lab.mount_erofs(lab.mkfs("p/com,ma/layer.erofs", {"y": "2"}), lab.path("p/com,ma/fs"))
    c = lab.mount_erofs(lab.mkfs("p/data/layer.erofs", {"z": "3"}), lab.path("p/data/fs"))
    target = lab.path("rootfs3")
    try:
        lab.mount_overlay_fsconfig(
            target, [("lowerdir+", str(a)), ("lowerdir+", str(b)), ("datadir+", str(c))]
        )
    except OSError as exc:
        pytest.skip(f"kernel lacks overlay lowerdir+/datadir+ via fsconfig: {exc}")
    chain = chain_at(report_for([target]), target)
    assert [(la.role, la.path) for la in chain.layers] == [
        ("lower", str(a)),
        ("lower", str(b)),
        ("data", str(c)),
    ]
    assert all(la.status == "ok" and la.device.kind == "file" for la in chain.layers)


def test_deleted_backing_files(lab: KernelLab) -> None:
    """A deleted loop backing file shows `(deleted)` in sysfs; a file-backed one shows nothing."""
    lf = lab.mkfs("del/x.erofs", {"x": "1"})
    loop = lab.losetup(lf)
    loop_mnt = lab.mount_erofs(loop, lab.path("mnt/loop_del"))
    ff = lab.mkfs("del/y.erofs", {"y": "1"})
    file_mnt = lab.mount_erofs(ff, lab.path("mnt/fb_del"))
    lf.unlink()
    ff.unlink()
    report = report_for([loop_mnt, file_mnt])
    by_target = {e.target: e for e in report.erofs_mounts}
    e_loop = by_target[str(loop_mnt)]
    assert e_loop.status == "deleted" and e_loop.device.deleted is True
    assert e_loop.backing_file == str(lf)  # without the kernel's " (deleted)" suffix
    e_file = by_target[str(file_mnt)]
    assert e_file.status == "missing" and e_file.backing_file == str(ff)


def test_loop_detached_under_live_mount_and_lower_unmounted(lab: KernelLab) -> None:
    """`losetup -d` on a mounted loop only sets autoclear; an erofs lower unmounted under a
    live overlay leaves a plain directory that Kata can no longer find."""
    snaps = lab.path(SNAP)
    l1 = lab.mkfs(snaps / "1/layer.erofs", {"a": "1"})
    l2 = lab.mkfs(snaps / "2/layer.erofs", {"b": "2"})
    loop = lab.losetup(l1)
    lab.mount_erofs(loop, snaps / "1/fs")
    lab.mount_erofs(l2, snaps / "2/fs")
    rootfs = lab.mount(
        "overlay", lab.path("rootfs"), "overlay", f"lowerdir={snaps}/1/fs:{snaps}/2/fs"
    )
    lab.detach(loop)
    lab.umount(snaps / "2/fs")
    chain = chain_at(report_for([rootfs]), rootfs)
    l0, l1_ = chain.layers
    assert l0.status == "ok" and l0.device.autoclear is True and l0.backing_file == str(l1)
    assert l1_.status == "not-mounted" and l1_.device is None
    assert l1_.kata_error == f"erofs mount not found for {snaps}/2/fs"
    assert chain.kata_verdict == l1_.kata_error
    with pytest.raises(RootfsError, match=r"^erofs mount not found for "):
        create_erofs_devices(
            RootFs("overlay", "overlay", [f"lowerdir={snaps}/1/fs:{snaps}/2/fs"]), LinuxHost()
        )


def test_unbound_loop_is_detached(lab: KernelLab) -> None:
    """A loop device node with nothing bound (e.g. detached between two reads) -> detached."""
    from kata_console.engine.mounts.blockdev import BlockResolver

    dev = lab.losetup(lab.mkfs("tmp.erofs", {"t": "1"}))
    lab.detach(dev)
    minor = os.minor(os.stat(dev).st_rdev)
    hop = BlockResolver(MountTable(LinuxHost().read_mountinfo()), LinuxHost()).block(7, minor)
    assert hop.kind == "loop" and hop.status == "detached" and hop.backing_file is None


def test_nested_loop_in_file_on_another_erofs(lab: KernelLab) -> None:
    """inner.erofs lives inside outer.erofs: the chain continues under `device.parent`."""
    inner_src = lab.mkfs("inner.erofs", {"deep": "yes"})
    outer_dir = lab.path("outer.d")
    outer_dir.mkdir()
    os.replace(inner_src, outer_dir / "inner.erofs")
    outer = lab.mkfs_dir(lab.path("outer.erofs"), outer_dir)
    outer_loop = lab.losetup(outer)
    outer_mnt = lab.mount_erofs(outer_loop, lab.path("mnt/outer"))
    inner_loop = lab.losetup(outer_mnt / "inner.erofs")
    inner_mnt = lab.mount_erofs(inner_loop, lab.path("mnt/inner"))
    assert (inner_mnt / "deep").read_text() == "yes"
    em = next(e for e in report_for([inner_mnt]).erofs_mounts if e.target == str(inner_mnt))
    assert em.status == "ok" and em.backing_file == str(outer_mnt / "inner.erofs")
    parent = em.device.parent
    assert parent is not None and f"/dev/{parent.name}" == outer_loop
    assert parent.mount == str(outer_mnt) and parent.backing_file == str(outer)


def test_fsmeta_source_is_rejected_with_the_go_text(lab: KernelLab) -> None:
    snaps = lab.path(SNAP)
    meta = lab.mkfs(snaps / "7/fsmeta.erofs", {"m": "1"})
    loop = lab.losetup(meta)
    fs = lab.mount_erofs(loop, snaps / "7/fs")
    with pytest.raises(RootfsError) as err:
        create_erofs_devices(RootFs("overlay", "overlay", [f"lowerdir={fs}"]), LinuxHost())
    assert str(err.value) == f"unsupported mount source {meta} for {fs}"
    em = next(e for e in report_for([fs]).erofs_mounts if e.target == str(fs))
    assert em.snapshot.role == "fsmeta.erofs" and em.status == "ok"


ODD_NAMES = [
    "cr\rlf",  # the kernel does not escape \r: text-mode reading would split the line here
    "nel\x85x",
    "ls\u2028x",
    "vt\x0bff\x0c",
    "fs\x1cgs\x1d",
    b"bad\xff\xfeutf8".decode("utf-8", "surrogateescape"),  # not UTF-8 at all
]


def test_paths_with_bytes_the_kernel_does_not_escape(lab: KernelLab) -> None:
    """Mountpoints, sources and sysfs backing files holding \\r, other line separators and
    invalid UTF-8 are read whole: bytes split on \\n only, decoded with surrogateescape."""
    lowers = []
    for i, name in enumerate(ODD_NAMES):
        image = lab.mkfs(lab.path(f"odd/{name}/layer.erofs"), {f"f{i}": repr(name)})
        source = lab.losetup(image) if i == 0 else image  # sysfs backing_file holds the \r
        lowers.append(lab.mount_erofs(source, lab.path(f"odd/{name}/fs")))
    rootfs = lab.mount(
        "overlay",
        lab.path("rootfs-odd"),
        "overlay",
        "lowerdir=" + ":".join(escape_overlay(str(p)) for p in lowers),
    )
    table = MountTable(LinuxHost().read_mountinfo())
    assert table.warnings == []
    for p in lowers:
        assert table.at(str(p)) is not None and table.at(str(p)).fstype == "erofs"
    chain = chain_at(report_for([rootfs]), rootfs)
    assert [la.path for la in chain.layers] == [str(p) for p in lowers]
    assert [la.backing_file for la in chain.layers] == [
        str(lab.path(f"odd/{n}/layer.erofs")) for n in ODD_NAMES
    ]
    assert all(la.status == "ok" for la in chain.layers), [la.reason for la in chain.layers]
    assert chain.layers[0].device.kind == "loop"


def test_plain_overlay_of_directories_is_not_an_erofs_rootfs(lab: KernelLab) -> None:
    """A docker / overlayfs-snapshotter overlay: its lowers are ordinary directories. They
    are directories on their filesystem (status ok), and Kata shares such a rootfs as a
    directory: not an EROFS rootfs, no verdict."""
    lowers = []
    for name in ("l1", "l2"):
        d = lab.path(f"plain/{name}/diff")
        d.mkdir(parents=True)
        (d / f"{name}.txt").write_text(name)
        lowers.append(d)
    up, work = lab.path("plain/up/diff"), lab.path("plain/up/work")
    up.mkdir(parents=True)
    work.mkdir()
    rootfs = lab.mount(
        "overlay",
        lab.path("plain/merged"),
        "overlay",
        f"lowerdir={lowers[0]}:{lowers[1]},upperdir={up},workdir={work}",
    )
    holder, _ = MountTable(LinuxHost().read_mountinfo()).containing(str(lowers[0]))
    chain = chain_at(report_for([rootfs]), rootfs)
    lo1, lo2, upper = chain.layers
    for layer in (lo1, lo2):
        assert layer.status == "ok" and layer.directory is True
        assert (layer.fstype, layer.source, layer.mount_id) == (
            holder.fstype,
            holder.source,
            holder.id,
        )
        assert layer.device is None and layer.kata_error is None
    assert lo1.subpath == str(lowers[0]).removeprefix(holder.mountpoint).strip("/")
    assert upper.status == "ok"
    assert chain.erofs is False and chain.kata_verdict is None and chain.status == "ok"
    assert (
        create_erofs_devices(RootFs("overlay", "overlay", [f"lowerdir={lowers[0]}"]), LinuxHost())
        == []
    )
