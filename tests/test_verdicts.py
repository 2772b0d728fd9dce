"""The Kata verdict the resolver derives equals what Kata's rules (rootfs.py, Go's
createErofsDevices) say, on many generated tables and on every recorded host.

The resolver derives each layer's `kata_error` from answers it already has; rootfs.py asks
the host itself, as Go does. Both must give the same text, byte for byte, on any table:
overmounts, loops named differently from their source, detached loops, deleted, missing,
symlinked and non-regular backing files, fsmeta sources, `:` in a lowerdir, upperdirs whose
string prefix matches other mounts.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.host.snapshot import SnapshotHost
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.mounts.rootfs import (
    RootFs,
    RootfsError,
    create_device_info,
    create_erofs_devices,
    layer_source,
    upper_source,
)
from tests.conftest import REPO
from tests.hostdata import BLK, DIR, LNK, HostBuilder
from tests.test_chains_recorded import F1, F2, F5, F6

S = "/v/io.containerd.snapshotter.v1.erofs/snapshots"
MOUNTPOINTS = [f"{S}/1/fs", f"{S}/2/fs", f"{S}/12/fs", f"{S}/3/fs", "/t/7/1", "/t/7/2", "/a:b"]
FILES = [
    f"{S}/1/layer.erofs",
    f"{S}/2/layer.erofs",
    f"{S}/4/fsmeta.erofs",
    f"{S}/5/rwlayer.img",
    "/other/blob",
    f"{S}/6/layer.erofs (deleted)",
]
FILE_KINDS = ["reg", "reg", "missing", "dir", "symlink", "blk"]


def rules_lower(table: MountTable, host: SnapshotHost, path: str) -> str | None:
    try:
        for piece in path.split(":"):
            create_device_info(host, layer_source(table, host, piece), True)
    except RootfsError as exc:
        return str(exc)
    return None


def rules_upper(table: MountTable, host: SnapshotHost, upper: str) -> str | None:
    try:
        source = upper_source(table, host, upper)
        if source is not None:
            create_device_info(host, source, False)
    except RootfsError as exc:
        return str(exc)
    return None


def check_against_rules(data: dict) -> int:
    """Resolve, then ask the rules on a fresh host for every layer; returns layers checked."""
    host = SnapshotHost(data)
    report = resolve_chains(MountTable(host.read_mountinfo()), host)
    checked = 0
    for chain in report.chains:
        fresh = SnapshotHost(data)
        table = MountTable(fresh.read_mountinfo())
        named = []
        for layer in chain.layers:
            path = f"{layer.base}/{layer.path}" if layer.base else layer.path
            if layer.role == "upper":
                expected = rules_upper(table, fresh, layer.path) if chain.erofs else None
            else:
                named.append(path)
                expected = rules_lower(table, fresh, path) if chain.erofs else None
            assert layer.kata_error == expected, (layer.path, layer.kata_error, expected)
            checked += 1
        options = [f"lowerdir={':'.join(named)}"]
        upper = next((la.path for la in chain.layers if la.role == "upper"), None)
        if upper is not None:
            options.append(f"upperdir={upper}")
        try:
            create_erofs_devices(RootFs("overlay", "overlay", options), fresh, table)
            verdict = None
        except RootfsError as exc:
            verdict = str(exc)
        assert chain.kata_verdict == verdict
    return checked


@st.composite
def hosts(draw: st.DrawFn) -> dict:
    lines, n_loops = [], 0
    b = HostBuilder("")
    for path, kind in zip(
        FILES, draw(st.lists(st.sampled_from(FILE_KINDS), min_size=6, max_size=6)), strict=True
    ):
        if kind == "reg":
            b.file(path)
        elif kind == "dir":
            b.file(path, mode=DIR)
        elif kind == "blk":
            b.file(path, mode=BLK)
        elif kind == "symlink":
            b.file(path, lmode=LNK, target="/cache/x.erofs")
    for mid in range(draw(st.integers(1, 7))):
        mp = draw(st.sampled_from(MOUNTPOINTS))
        fstype = draw(st.sampled_from(["erofs", "erofs", "erofs", "ext4"]))
        how = draw(st.sampled_from(["file", "loop", "loop-misnamed", "loop-detached", "disk"]))
        if how == "file":
            majmin, source = f"0:{60 + mid}", draw(st.sampled_from(FILES))
        elif how == "disk":
            majmin, source = "254:16", "/dev/vdb"
            b.disk("254:16", "vdb")
        else:
            n_loops += 1
            n = n_loops
            majmin, source = f"7:{n}", f"/dev/loop{n + 10 if how == 'loop-misnamed' else n}"
            backing = None if how == "loop-detached" else draw(st.sampled_from(FILES))
            b.loop(n, backing, ino=4242)
        parent = 20 + draw(st.integers(0, mid)) if mid else 1
        lines.append(f"{20 + mid} {parent} {majmin} / {mp} ro - {fstype} {source} ro")
    for o in range(draw(st.integers(1, 3))):
        lowers = draw(
            st.lists(st.sampled_from([*MOUNTPOINTS, "/plain/dir"]), min_size=1, max_size=4)
        )
        opts = "lowerdir=" + ":".join(p.replace(":", "\\:") for p in lowers)
        upper = draw(st.sampled_from([None, f"{S}/1/fs/u", "/t/7/2/upper", "/nowhere/up"]))
        if upper:
            opts += f",upperdir={upper},workdir={upper}w"
        lines.append(f"{90 + o} 1 0:{90 + o} / /rootfs{o} rw - overlay overlay rw,{opts}")
    for mp in ("/t/7/1", "/t/7/2"):
        if draw(st.booleans()):
            b.erofs_magic(mp)
    b.data["mountinfo"]["self"] = "\n".join(lines) + "\n"
    return b.data


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(hosts())
def test_derived_verdicts_equal_the_rules_on_generated_tables(data: dict) -> None:
    check_against_rules(json.loads(json.dumps(data)))


def test_derived_verdicts_equal_the_rules_on_recorded_hosts() -> None:
    demo = json.loads((REPO / "fixtures/hosts/demo.json").read_text())
    checked = check_against_rules(demo)
    for text in (F1, F2, F5, F6):
        b = HostBuilder(text)
        for n in range(13):
            b.loop(n, f"{S}/{n}/layer.erofs", ino=100 + n)
        checked += check_against_rules(b.data)
    assert checked > 10
