"""Relative lowerdirs on the real kernel, with many layers mounted the way containerd does.

containerd's core/mount compacts overlay options of `pagesize - 512` bytes or more
(`compactLowerdirOption`: relative lowerdirs against their common parent, mounted from a
thread that chdir'd there; `tests/kernellab.containerd_mount_data` follows it step by step).
Layouts: 2.1 (`snapshots/<id>/fs` layers, upper `snapshots/<id>/fs`), 2.2+ block mode
(mount-manager `t/<mid>/<n>` layers, upper on the `rwlayer.img` mount `t/<mid>/<n+1>`) and
2.2+ non-block mode (activation layers, upper back in `snapshots/<id>/fs`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backends.host.linux import LinuxHost
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from tests.kernellab import KernelLab

pytestmark = pytest.mark.kernel

SNAP = "var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
MM = "run/containerd/io.containerd.mount-manager.v1.bolt/t"


def chain_at(target: Path):
    host = LinuxHost()
    report = resolve_chains(MountTable(host.read_mountinfo()), host, [str(target)])
    return next(c for c in report.chains if c.target == str(target))


def layer_files(lab: KernelLab, ids: range) -> dict[int, Path]:
    """One real layer.erofs per snapshot id (copies of one image: distinct files)."""
    template = lab.mkfs("template.erofs", {"f": "layer"})
    files = {}
    for sid in ids:
        dst = lab.path(f"{SNAP}/{sid}/layer.erofs")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, dst)
        files[sid] = dst
    return files


def test_containerd_21_seventy_layers_compacted(lab: KernelLab) -> None:
    snaps = lab.path(SNAP)
    files = layer_files(lab, range(1001, 1071))
    loops = {}
    for sid, image in files.items():
        source = image
        if sid % 10 == 0:  # some layers fell back to a loop device, as 2.1 does on ENOTBLK
            source = loops[sid] = lab.losetup(image)
        lab.mount_erofs(source, snaps / f"{sid}/fs")
    for d in ("2000/fs", "2000/work"):
        (snaps / d).mkdir(parents=True)
    lowers = [f"{snaps}/{sid}/fs" for sid in sorted(files, reverse=True)]  # top first
    rootfs = lab.path("rootfs")
    data = lab.mount_overlay_like_containerd(
        rootfs,
        [f"workdir={snaps}/2000/work", f"upperdir={snaps}/2000/fs", "lowerdir=" + ":".join(lowers)],
    )
    assert data.endswith(",lowerdir=1070/fs:1069/fs:" + data.split(":1069/fs:", 1)[1])
    assert (rootfs / "f").read_text() == "layer"

    chain = chain_at(rootfs)
    lowers_seen = [la for la in chain.layers if la.role == "lower"]
    assert [la.path for la in lowers_seen] == [f"{sid}/fs" for sid in range(1070, 1000, -1)]
    for layer, sid in zip(lowers_seen, range(1070, 1000, -1), strict=True):
        assert layer.base == str(snaps) and layer.status == "ok", layer
        assert layer.backing_file == str(files[sid])
        assert layer.device.kind == ("loop" if sid in loops else "file")
        assert layer.snapshot.id == str(sid) and layer.kata_error is None
    assert chain.erofs is True and chain.kata_verdict is None
    assert chain.layers[-1].role == "upper" and chain.layers[-1].path == f"{snaps}/2000/fs"


def test_containerd_22_block_mode_101_layers(lab: KernelLab) -> None:
    """101 lowers + the rwlayer: 102 mounts, so the manager names them %03d (102 .. 001)."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("needs mkfs.ext4 for the block-mode rwlayer.img")
    mm = lab.path(f"{MM}/9")
    files = layer_files(lab, range(1, 102))
    rw = lab.mkfs_ext4(lab.path(f"{SNAP}/300/rwlayer.img"))
    rw_loop = lab.losetup_rw(rw)
    lab.mount(rw_loop, mm / "102", "ext4")
    (mm / "102/upper").mkdir()
    (mm / "102/work").mkdir()
    (mm / "102-type").write_text("ext4")
    # mount i (0 = rwlayer, 1 = top layer ... 101 = base layer) lands at t/9/<102 - i>
    for i in range(1, 102):
        ci = f"{102 - i:03d}"
        lab.mount_erofs(files[102 - i], mm / ci)
        (mm / f"{ci}-type").write_text("erofs")
    lowers = [f"{mm}/{102 - i:03d}" for i in range(1, 102)]
    rootfs = lab.path("run/containerd/io.containerd.runtime.v2.task/k8s.io/big/rootfs")
    data = lab.mount_overlay_like_containerd(
        rootfs,
        [f"workdir={mm}/102/work", f"upperdir={mm}/102/upper", "lowerdir=" + ":".join(lowers)],
    )
    assert ",lowerdir=101:100:099:" in data and data.endswith(":002:001")

    chain = chain_at(rootfs)
    assert chain.bundle == {"namespace": "k8s.io", "id": "big"}
    lowers_seen = chain.layers[:-1]
    assert [la.path for la in lowers_seen] == [f"{n:03d}" for n in range(101, 0, -1)]
    for layer in lowers_seen:
        n = int(layer.path)
        assert layer.base == str(mm) and layer.status == "ok"
        assert layer.backing_file == str(files[n])
        assert layer.activation == {"id": "9", "n": layer.path, "type": "erofs"}
    upper = chain.layers[-1]
    assert upper.device.kind == "loop" and upper.backing_file == str(rw)
    assert upper.snapshot.role == "rwlayer.img"
    assert chain.erofs is True and chain.kata_verdict is None


def test_containerd_22_non_block_two_activations_are_ambiguous(lab: KernelLab) -> None:
    """Two containers of one image: two activations with the same 64 layer names. The
    overlay was mounted from one of them, the table cannot say which: no mount is guessed."""
    files = layer_files(lab, range(1, 65))
    activations = {}
    for mid in ("5", "6"):
        mm = lab.path(f"{MM}/{mid}")
        for i in range(64):  # non-block: mount i (0 = top) lands at t/<mid>/<64 - i>
            lab.mount_erofs(files[64 - i], mm / f"{64 - i:02d}")
        activations[mid] = mm
    snaps = lab.path(SNAP)
    for d in ("400/fs", "400/work"):
        (snaps / d).mkdir(parents=True)
    rootfs = lab.path("rootfs")
    lowers = [f"{activations['5']}/{64 - i:02d}" for i in range(64)]
    data = lab.mount_overlay_like_containerd(
        rootfs,
        [f"workdir={snaps}/400/work", f"upperdir={snaps}/400/fs", "lowerdir=" + ":".join(lowers)],
    )
    assert ",lowerdir=64:63:" in data

    chain = chain_at(rootfs)
    lowers_seen = chain.layers[:-1]
    assert all(la.status == "relative" and la.device is None for la in lowers_seen)
    assert all(la.backing_file is None and la.base is None for la in lowers_seen)
    tried = lowers_seen[0].bases_tried
    assert {t["base"]: t["mounted"] for t in tried} == {
        str(activations["5"]): 64,
        str(activations["6"]): 64,
    }
    assert "ambiguous" in lowers_seen[0].reason and str(activations["6"]) in lowers_seen[0].reason
    assert lowers_seen[0].kata_error == "erofs mount not found for 64"

    for i in range(64):  # the other container went away
        lab.umount(activations["6"] / f"{64 - i:02d}")
    chain = chain_at(rootfs)
    for layer in chain.layers[:-1]:
        assert layer.base == str(activations["5"]) and layer.status == "ok"
        assert layer.backing_file == str(files[int(layer.path)])
    assert chain.kata_verdict is None


def test_docker_style_relative_directories(lab: KernelLab) -> None:
    """docker's overlay2 driver mounts `l/<short>` links relative to its root: ordinary
    directories, resolved against the upper's parent where all of them exist."""
    root = lab.path("docker/overlay2")
    for layer_id, short in (("aaa", "A"), ("bbb", "B")):
        (root / layer_id / "diff").mkdir(parents=True)
        (root / layer_id / "diff" / f"{short}.txt").write_text(short)
        (root / "l").mkdir(exist_ok=True)
        (root / "l" / short).symlink_to(f"../{layer_id}/diff")
    (root / "ccc/diff").mkdir(parents=True)
    (root / "ccc/work").mkdir()
    merged = root / "ccc/merged"
    lab.mount(
        "overlay",
        merged,
        "overlay",
        f"lowerdir=l/A:l/B,upperdir={root}/ccc/diff,workdir={root}/ccc/work",
        cwd=root,
    )
    assert (merged / "A.txt").read_text() == "A"
    chain = chain_at(merged)
    lo_a, lo_b, _upper = chain.layers
    assert (lo_a.path, lo_a.base, lo_a.status, lo_a.directory) == ("l/A", str(root), "ok", True)
    assert lo_b.status == "ok" and lo_b.directory
    assert chain.erofs is False and chain.kata_verdict is None
