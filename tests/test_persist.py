"""persist.json: Go's encoding of Kata's persistapi structs, round trips of files Kata's Go
runtime wrote (fixtures/persist/go-sbs), Go's decode errors, hostile IDs, incremental saves
and crash safety under SIGKILL."""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kata_console.engine.lifecycle.sandboxstore import restore_sandbox
from kata_console.engine.lifecycle.sim import SimAgent, SimHypervisor
from kata_console.engine.persist import api, gojson
from kata_console.engine.persist import store as P
from tests.conftest import REPO
from tests.enginekit import Kit

GO_SAMPLE = REPO / "fixtures" / "persist" / "go-sbs"
GO_SID = "go-erofs-1"


def ports() -> dict[str, object]:
    return {"agent": SimAgent(), "hypervisor": SimHypervisor()}


async def test_sandbox_document_has_go_names_and_encodings(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    text = (tmp_path / "sb1" / "persist.json").read_text()
    assert (
        text.endswith("}\n") and "\n" not in text[:-1] and ": " not in text
    )  # Encoder: compact + \n
    doc = json.loads(text)
    assert list(doc) == [
        "CgroupPaths",
        "Devices",
        "State",
        "SandboxContainer",
        "SandboxCgroupPath",
        "OverheadCgroupPath",
        "HypervisorState",
        "AgentState",
        "Network",
        "Config",
        "PersistVersion",
        "GuestMemoryBlockSizeMB",
        "GuestMemoryHotplugProbe",
    ]
    assert doc["CgroupPaths"] is None and doc["PersistVersion"] == 2
    assert doc["HypervisorState"]["BlockIndexMap"] == {"0": {}}
    (dev,) = doc["Devices"]
    assert list(dev) == [
        "DriverOptions",
        "BlockDrive",
        "ID",
        "Type",
        "DevType",
        "RefCount",
        "AttachCount",
        "Major",
        "Minor",
        "ColdPlug",
    ]
    assert (dev["Major"], dev["RefCount"], dev["AttachCount"], dev["Type"]) == (-1, 1, 1, "block")
    assert (
        dev["BlockDrive"]["ID"] == f"drive-{dev['ID']}" and dev["BlockDrive"]["SCSIAddr"] == "0:0"
    )
    assert dev["BlockDrive"]["PCIPath"] == {}  # Go's PciPath has no exported field
    assert doc["Config"]["KataAgentConfig"] == {"LongLiveConn": True}
    assert list(doc["Config"]["HypervisorConfig"]) == [f.name for f in api.HYPERVISOR_CONFIG.fields]
    assert doc["Config"]["HypervisorConfig"]["BlockDeviceDriver"] == "virtio-scsi"
    assert doc["Config"]["ContainerConfigs"][0]["ID"] == "c1"
    c = json.loads((tmp_path / "sb1" / "c1" / "persist.json").read_text())
    assert list(c) == [
        "State",
        "CgroupPath",
        "BundlePath",
        "Rootfs",
        "Process",
        "DeviceMaps",
        "Mounts",
    ]
    assert c["Process"] == {"StartTime": "2026-01-02T03:04:05Z", "Token": "c1", "Pid": -1}
    assert c["DeviceMaps"][0]["ID"] == dev["ID"]
    assert (tmp_path / "sb1").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "sb1" / "persist.json").stat().st_mode & 0o777 == 0o600


def test_go_time_and_html_escaping() -> None:
    utc = _dt.UTC
    fmt = gojson.format_time
    assert fmt(_dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=utc)) == "2026-01-02T03:04:05.12Z"
    assert fmt(_dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=utc)) == "2026-01-02T03:04:05Z"
    cet = _dt.timezone(_dt.timedelta(hours=1))
    assert (
        fmt(_dt.datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=cet)) == "2026-01-02T03:04:05.000001+01:00"
    )
    assert fmt(None) == "0001-01-01T00:00:00Z" and gojson.parse_time("0001-01-01T00:00:00Z") is None
    assert gojson.parse_time("2026-03-04T10:11:12.345678901Z") == _dt.datetime(
        2026, 3, 4, 10, 11, 12, 345678, tzinfo=utc
    )
    assert gojson.encode_any({"a": "<x>&é\u2028"}) == '{"a":"\\u003cx\\u003e\\u0026é\\u2028"}'
    # an undecodable path byte (kept by surrogateescape) is written as Go writes bad UTF-8
    assert gojson.encode_string(b"a\xffb".decode("utf-8", "surrogateescape")) == '"a\\ufffdb"'


async def test_round_trip_restores_and_reencodes_identically(tmp_path: Path) -> None:
    kit = Kit(tmp_path, driver="virtio-blk")
    await kit.up()
    await kit.container("c1", 1, 2)
    await kit.container("c2", 3, 1)
    await kit.sandbox.start_container("c1")
    await kit.sandbox.stop_container("c2")
    files = {p: p.read_bytes() for p in tmp_path.rglob("persist.json")}
    sb = restore_sandbox(kit.store, "sb1", **ports())
    assert sb.state == "running" and sb.block_index_map == kit.sandbox.block_index_map
    assert [r.to_dict() for r in sb.device_rows()] == [
        r.to_dict() for r in kit.sandbox.device_rows()
    ]
    assert {c.id: c.state for c in sb.containers.values()} == {"c1": "running", "c2": "stopped"}
    assert sb.containers["c1"].devices == kit.sandbox.containers["c1"].devices
    assert sb.containers["c1"].process == kit.sandbox.containers["c1"].process
    # Go persists PciPath as {}: the path comes back from the bridge's slot table
    assert sb.device_rows()[0].address == "02/01"
    doc = json.loads((tmp_path / "sb1" / "persist.json").read_text())
    assert doc["HypervisorState"]["Bridges"][0]["DeviceAddr"] == {
        "1": sb.devices.get_all_devices()[0].drive.id,  # type: ignore[union-attr]
        "2": sb.devices.get_all_devices()[1].drive.id,  # type: ignore[union-attr]
    }
    for cid in ("c1", "c2"):
        sb.mark_container_dirty(cid)
    sb.mark_dirty()
    shutil.rmtree(tmp_path / "sb1")
    await sb.save()
    assert {p: p.read_bytes() for p in tmp_path.rglob("persist.json")} == files


def _go_files() -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (GO_SAMPLE / GO_SID).rglob("persist.json")}


def test_go_written_files_decode_and_reencode_byte_for_byte() -> None:
    """Our encoder, given what we decoded from a file Kata's Go runtime wrote, writes the
    same bytes (field order, zero values, map key order, PCIPath {}, the trailing newline)."""
    files = _go_files()
    assert len(files) == 3
    for path, data in files.items():
        schema = api.SANDBOX_STATE if path.parent == GO_SAMPLE / GO_SID else api.CONTAINER_STATE
        assert (gojson.encode(schema, gojson.decode(schema, data)) + "\n").encode() == data


async def test_restore_and_save_of_a_go_sandbox_keeps_every_field(tmp_path: Path) -> None:
    """Everything the engine does not model (network endpoints, NetworkID, the hypervisor's
    UUID/pid/bridges, cgroup paths, ShmSize, SandboxCgroupOnly, the full HypervisorConfig,
    process start times in nanoseconds) survives a restore and a save."""
    root = tmp_path / "sbs"
    shutil.copytree(GO_SAMPLE, root)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("persist.json")}
    store = P.PersistStore(root, fsync=False)
    sb = restore_sandbox(store, GO_SID, **ports())
    sb.mark_dirty()
    for cid in sb.containers:
        sb.mark_container_dirty(cid)
    sb._written.clear()
    shutil.rmtree(root / GO_SID)
    await sb.save()
    assert {p.relative_to(root): p.read_bytes() for p in root.rglob("persist.json")} == before


def test_loads_a_go_written_sandbox() -> None:
    store = P.PersistStore(GO_SAMPLE)
    assert store.sandbox_ids() == [GO_SID]
    sb = restore_sandbox(store, GO_SID, **ports())
    assert (sb.state, sb.agent_url, sb.config.hypervisor_type) == (
        "running",
        "vsock://1796207745:1024",
        "qemu",
    )
    assert sb.devices.block_driver == "virtio-scsi" and sb.block_index_map == {0, 1}
    shared, own = sb.devices.get_all_devices()
    assert shared.drive is not None and shared.drive.scsi_addr == "0:0"
    assert (shared.host_path, shared.refcount, shared.attach_count, shared.info.read_only) == (
        "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/1/layer.erofs",
        2,
        2,
        True,
    )
    assert (own.refcount, own.attach_count, own.drive.scsi_addr) == (1, 1, "0:1")  # type: ignore[union-attr]
    assert list(sb.containers) == [GO_SID, "app"]
    app = sb.containers["app"]
    assert app.rootfs.target == "/run/containerd/io.containerd.runtime.v2.task/default/app/rootfs"
    assert [d.id for d in app.devices] == [shared.id]
    assert app.devices[0].container_path == "/run/kata-containers/virtual-volumes/MDow"
    assert app.process.pid == 48190 and app.cgroup_path == "/default/app"
    assert app.process.start_time == _dt.datetime(2026, 3, 4, 10, 11, 13, 5, tzinfo=_dt.UTC)
    assert app.config.resources["cpu"] == {**app.config.resources["cpu"], "shares": 512}
    pause = sb.containers[GO_SID]
    assert pause.mounts is not None and pause.mounts[0]["Destination"] == "/etc/resolv.conf"
    assert [d.id for d in pause.devices] == [shared.id, own.id]


def test_go_decode_errors_name_the_file_and_say_what_go_says(tmp_path: Path) -> None:
    shutil.copytree(GO_SAMPLE, tmp_path / "sbs")
    store = P.PersistStore(tmp_path / "sbs")
    sdir = tmp_path / "sbs" / GO_SID
    target = sdir / "app" / "persist.json"
    original = target.read_bytes()
    target.write_text('{"State": "running", "Rootfs": ')
    with pytest.raises(P.PersistError) as info:
        restore_sandbox(store, GO_SID, **ports())
    assert str(info.value).startswith(f"{target}: ")
    target.write_text('{"State": 3}')
    with pytest.raises(P.PersistError) as info:
        restore_sandbox(store, GO_SID, **ports())
    assert str(info.value) == (
        f"{target}: json: cannot unmarshal number into Go struct field "
        "ContainerState.State of type string"
    )
    target.write_bytes(original)
    sandbox_file = sdir / "persist.json"
    good = sandbox_file.read_text()
    # the bug this encoding fixes: a string PCIPath fails Go's whole decode
    sandbox_file.write_text(good.replace('"PCIPath":{}', '"PCIPath":"02/01"', 1))
    with pytest.raises(P.PersistError) as info:
        restore_sandbox(store, GO_SID, **ports())
    assert str(info.value) == (
        f"{sandbox_file}: json: cannot unmarshal string into Go struct field "
        "BlockDrive.Devices.BlockDrive.PCIPath of type types.PciPath"
    )
    cases = {
        '"RefCount":2': ('"RefCount":"2"', "string", "DeviceState.Devices.RefCount", "uint"),
        '"RefCount":1': ('"RefCount":-1', "number -1", "DeviceState.Devices.RefCount", "uint"),
        '"Major":-1': ('"Major":1.5', "number 1.5", "DeviceState.Devices.Major", "int64"),
        '"BlockIndexMap":{"0":{},"1":{}}': (
            '"BlockIndexMap":{"x":{}}',
            "number x",
            "HypervisorState.HypervisorState.BlockIndexMap",
            "int",
        ),
        '"NumVCPUsF":1': (
            '"NumVCPUsF":true',
            "bool",
            "HypervisorConfig.Config.HypervisorConfig.NumVCPUsF",
            "float32",
        ),
    }
    for old, (new, value, where, go_type) in cases.items():
        sandbox_file.write_text(good.replace(old, new, 1))
        with pytest.raises(P.PersistError) as info:
            restore_sandbox(store, GO_SID, **ports())
        assert str(info.value) == (
            f"{sandbox_file}: json: cannot unmarshal {value} into Go struct field "
            f"{where} of type {go_type}"
        )
    # Go drops keys its structs do not have, and matches names case-insensitively
    sandbox_file.write_text(good.replace('"State":"running"', '"state":"paused","Extra":[1]', 1))
    assert restore_sandbox(store, GO_SID, **ports()).state == "paused"
    with pytest.raises(P.PersistError, match="no such file"):
        store.read_bytes("absent")


@pytest.mark.parametrize("bad", ["../x", "a/b", "x" * 300, "", "a", "-a", "a b", "ab\n", "é1"])
def test_hostile_ids_are_refused_before_any_path_is_built(tmp_path: Path, bad: str) -> None:
    store = P.PersistStore(tmp_path / "root")
    with pytest.raises(P.InvalidIdError):
        store.write_sandbox(bad, "{}")
    with pytest.raises(P.InvalidIdError):
        store.write_container("sb1", bad, "{}")
    assert not (tmp_path / "root").exists()


def test_good_ids() -> None:
    for good in ("ab", "a.b-c_d", "0" * 64, "x" * 255):
        assert P.validate_id("sandbox", good) == good


async def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.container("c2")
    ino = {p: p.stat().st_ino for p in tmp_path.rglob("persist.json")}
    await kit.sandbox.start_container("c1")
    now = {p: p.stat().st_ino for p in tmp_path.rglob("persist.json")}
    changed = sorted(str(p.relative_to(tmp_path)) for p in ino if ino[p] != now[p])
    assert changed == ["sb1/c1/persist.json"]
    await kit.sandbox.stop_container("c1")
    await kit.sandbox.delete_container("c1")
    assert not (tmp_path / "sb1" / "c1").exists()
    doc = json.loads((tmp_path / "sb1" / "persist.json").read_text())
    assert [c["ID"] for c in doc["Config"]["ContainerConfigs"]] == ["c2"] and doc["Devices"] is None


async def test_a_failed_save_never_removes_the_sandbox_directory(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    (tmp_path / "sb1" / "c1").write_text("a file where the container directory should be")
    with pytest.raises(P.PersistError, match="sb1/c1: cannot create directory"):
        await kit.container("c1")
    assert (tmp_path / "sb1" / "persist.json").is_file()
    assert json.loads((tmp_path / "sb1" / "persist.json").read_text())["SandboxContainer"] == "sb1"
    assert "c1" not in kit.sandbox.containers  # rolled back by stop(force)


# --------------------------------------------------------------------------- crash safety
FORKER = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from typing import Any
from kata_console.engine.persist.store import atomic_write
target = Path(sys.argv[2])
docs = [Path(sys.argv[3]).read_bytes(), Path(sys.argv[4]).read_bytes()]
naive = sys.argv[5] == "naive"
for line in sys.stdin:
    if line.strip() == "reap":
        os.waitpid(int(pid), 0)
        print("ok", flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        i = 0
        while True:
            if naive:
                with open(target, "wb") as fh:
                    fh.write(docs[i % 2])
            else:
                atomic_write(target, docs[i % 2])
            i += 1
            if i == 1:  # in the loop now: the kill will land among writes, not before them
                os.write(2, b"writing\n")
    print(pid, flush=True)
"""


def _doc(state: str, n: int) -> bytes:
    """A realistic sandbox document (~100 KB: big enough for a kill to land mid-write)."""
    doc = api.SANDBOX_STATE.zero()
    doc.update(SandboxContainer="sb1", State=state)
    doc["HypervisorState"]["BlockIndexMap"] = {i: {} for i in range(n)}
    doc["Config"]["ContainerConfigs"] = [{"ID": f"c{i}", "RootFs": "/run/x" * 20} for i in range(n)]
    return (gojson.encode(api.SANDBOX_STATE, doc) + "\n").encode()


def _kill_loop(tmp_path: Path, mode: str, rounds: int, stop_at_corruption: bool) -> tuple[int, int]:
    target = tmp_path / "persist.json"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(_doc("running", 400))
    b.write_bytes(_doc("stopped", 400))
    target.write_bytes(a.read_bytes())
    valid = {a.read_bytes(), b.read_bytes()}
    proc = subprocess.Popen(
        [sys.executable, "-c", FORKER, str(REPO), str(target), str(a), str(b), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    rng = random.Random(1234)
    bad = seen_new = 0
    try:
        for _ in range(rounds):
            proc.stdin.write("go\n")
            proc.stdin.flush()
            pid = int(proc.stdout.readline())
            assert proc.stderr.readline() == "writing\n"  # the writer is in its loop
            time.sleep(rng.uniform(0.0005, 0.008))
            os.kill(pid, signal.SIGKILL)
            proc.stdin.write("reap\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok"
            data = target.read_bytes()
            if data not in valid:
                bad += 1
                if stop_at_corruption:
                    break
            else:
                json.loads(data)
                seen_new += data == b.read_bytes()
    finally:
        proc.kill()
        proc.wait()
    return bad, seen_new


def test_sigkill_during_saves_leaves_old_or_new_state(tmp_path: Path) -> None:
    bad, seen_new = _kill_loop(tmp_path, "atomic", rounds=200, stop_at_corruption=False)
    assert bad == 0
    assert 0 < seen_new < 200  # the kills landed at varied points of the save loop


def test_the_kill_harness_catches_a_non_atomic_writer(tmp_path: Path) -> None:
    """Control: truncate-and-write (what Go does) is caught, so the test above can fail."""
    bad, _ = _kill_loop(tmp_path, "naive", rounds=200, stop_at_corruption=True)
    assert bad > 0


async def test_restore_keeps_the_persist_version_and_every_loadable_device_type(
    tmp_path: Path,
) -> None:
    """Go `dumpVersion` keeps a restored sandbox's version; `LoadDevices` rebuilds
    vhost-user and virtio-net devices too, so a re-save keeps them with their attributes."""
    root = tmp_path / "sbs"
    shutil.copytree(GO_SAMPLE, root)
    doc_path = root / GO_SID / "persist.json"
    doc = json.loads(doc_path.read_text())
    doc["PersistVersion"] = 1
    vhost = {"DevID": "vhost-0", "SocketPath": "/run/vhost.sock", "Type": "vhost-user-scsi-pci"}
    for n, kind in enumerate(("vhost-user-scsi-pci", "virtio-net-pci")):
        doc["Devices"].append(
            {"DriverOptions": None, "VhostUserDev": vhost, "ID": f"{n:016x}", "Type": kind}
        )
    doc_path.write_text(json.dumps(doc))
    store = P.PersistStore(root, fsync=False)
    sb = restore_sandbox(store, GO_SID, **ports())
    assert [d.type for d in sb.devices.get_all_devices()][-2:] == [
        "vhost-user-scsi-pci",
        "virtio-net-pci",
    ]
    sb.mark_dirty()
    await sb.save()
    saved = json.loads(doc_path.read_text())
    assert saved["PersistVersion"] == 1
    assert [d["Type"] for d in saved["Devices"]][-2:] == ["vhost-user-scsi-pci", "virtio-net-pci"]
    assert saved["Devices"][-1]["VhostUserDev"]["SocketPath"] == "/run/vhost.sock"
    assert saved["Devices"][-1]["VhostUserDev"]["PCIPath"] == {}


def _uncached_files(sb: object) -> dict[str, bytes]:
    """What the files must hold, encoded from scratch with the plain schema encoder: every
    device, config and container document built anew, nothing spliced or cached."""
    from kata_console.engine.lifecycle.persistdocs import (
        container_config_doc,
        container_doc,
        device_doc,
        new_sandbox_doc,
    )

    doc = new_sandbox_doc(sb)  # type: ignore[arg-type]
    hs = dict(sb.hypervisor.save_state() or {})  # type: ignore[attr-defined]
    hs["BlockIndexMap"] = {i: {} for i in sb.block_index_map}  # type: ignore[attr-defined]
    doc.update(
        Devices=[device_doc(d) for d in sb.devices.get_all_devices()] or None,  # type: ignore[attr-defined]
        State=sb.state,  # type: ignore[attr-defined]
        SandboxContainer=sb.id,  # type: ignore[attr-defined]
        HypervisorState=hs,
        AgentState={"URL": sb.agent_url},  # type: ignore[attr-defined]
        PersistVersion=sb.persist_version,  # type: ignore[attr-defined]
        GuestMemoryBlockSizeMB=sb.guest_memory_block_size_mb,  # type: ignore[attr-defined]
    )
    configs = [container_config_doc(c) for c in sb.containers.values()]  # type: ignore[attr-defined]
    doc["Config"]["ContainerConfigs"] = configs or None
    out = {"": (gojson.encode(api.SANDBOX_STATE, doc) + "\n").encode()}
    for cid, c in sb.containers.items():  # type: ignore[attr-defined]
        cdoc = container_doc(c)
        cdoc["DeviceMaps"] = [
            {
                "ID": d.id,
                "ContainerPath": d.container_path,
                "FileMode": d.file_mode,
                "UID": d.uid,
                "GID": d.gid,
                "Shared": d.shared,
            }
            for d in c.devices
        ] or None
        out[cid] = (gojson.encode(api.CONTAINER_STATE, cdoc) + "\n").encode()
    return out


async def test_cached_encoding_equals_a_fresh_encode_after_every_operation(
    tmp_path: Path,
) -> None:
    """A save keeps device entries, container files, configs and the block index map
    encoded between saves; after any sequence of operations every file must equal a
    from-scratch encode of the same sandbox."""
    rng = random.Random(7)
    kit = Kit(tmp_path, driver=rng.choice(["virtio-scsi", "virtio-blk"]))
    await kit.up()
    sb = kit.sandbox
    live: list[str] = []
    for step in range(150):
        choice = rng.random()
        if choice < 0.35 or not live:
            cid = f"c{step}"
            await kit.container(cid, *rng.sample(range(1, 12), rng.randrange(1, 4)))
            live.append(cid)
        elif choice < 0.55:
            cid = rng.choice(live)
            if sb.containers[cid].state == "ready":
                await sb.start_container(cid)
        elif choice < 0.7:
            cid = rng.choice(live)
            if sb.containers[cid].state == "running":
                await sb.update_container(cid, {"memory": {"limit": rng.randrange(1, 1 << 30)}})
        else:
            cid = live.pop(rng.randrange(len(live)))
            await sb.stop_container(cid)
            await sb.delete_container(cid)
        expected = _uncached_files(sb)
        on_disk = {"": (tmp_path / "sb1" / "persist.json").read_bytes()}
        on_disk.update(
            {cid: (tmp_path / "sb1" / cid / "persist.json").read_bytes() for cid in sb.containers}
        )
        assert on_disk == expected, f"after step {step}"


async def test_empty_annotations_read_as_an_object_are_written_as_an_object(
    tmp_path: Path,
) -> None:
    """Go's encoder tells a nil map (`null`) from an empty one (`{}`); a restore and save
    keeps whichever was read."""
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.container("c2", 2)
    await kit.sandbox.save()
    doc = tmp_path / kit.sandbox.id / "persist.json"
    data = json.loads(doc.read_text())
    for cfg in data["Config"]["ContainerConfigs"]:
        cfg["Annotations"] = {} if cfg["ID"] == "c1" else None
    doc.write_text(json.dumps(data, separators=(",", ":")))
    sb = restore_sandbox(
        P.PersistStore(tmp_path, fsync=False),
        kit.sandbox.id,
        agent=SimAgent(),
        hypervisor=SimHypervisor(),
    )
    for c in sb.containers.values():
        c._config_fragment = None
        sb.configs_changed(c.id)
    await sb.stop_container("c2", force=True)
    written = {
        c["ID"]: c["Annotations"] for c in json.loads(doc.read_text())["Config"]["ContainerConfigs"]
    }
    assert written == {"c1": {}, "c2": None}


def _fresh_files(sb: Any) -> dict[str, bytes]:
    """What a from-scratch encode of `sb` writes: a new document over the same base, every
    container's config and device-map cache emptied (and put back, so the run under test
    keeps its own caches)."""
    import copy

    from kata_console.engine.lifecycle.persistdocs import container_doc
    from kata_console.engine.lifecycle.persistfile import SandboxDocument

    kept = {cid: (c._config_fragment, c.maps_cache) for cid, c in sb.containers.items()}
    changed, dirty = dict(sb.devices.changed), dict(sb.configs_dirty)
    try:
        for c in sb.containers.values():
            c._config_fragment, c.maps_cache = None, None
        doc = SandboxDocument(copy.deepcopy(sb.document.base))
        doc._orphans = None
        out = {"": b"".join(doc.encode(sb))}
        for cid, c in sb.containers.items():
            out[cid] = (gojson.encode(api.CONTAINER_STATE, container_doc(c)) + "\n").encode()
    finally:
        for cid, c in sb.containers.items():
            c._config_fragment, c.maps_cache = kept[cid]
        sb.devices.changed, sb.configs_dirty = changed, dirty
    return out


async def test_a_restored_go_sandbox_saves_as_a_fresh_encode_would_after_every_step(
    tmp_path: Path,
) -> None:
    """The same property for a sandbox Kata's Go runtime wrote (with a config entry whose
    container lost its file): its cached fields, the kept unknown-to-us fields and the
    orphaned config all stay equal to a from-scratch encode through random operations."""
    from kata_console.engine.lifecycle.container import ContainerConfig
    from tests.enginekit import erofs_rootfs

    sid = "go-erofs-1"
    shutil.copytree(REPO / "fixtures" / "persist" / "go-sbs" / sid, tmp_path / sid)
    orphan = json.loads((tmp_path / sid / "persist.json").read_text())
    extra = dict(orphan["Config"]["ContainerConfigs"][1], ID="lost")
    orphan["Config"]["ContainerConfigs"].append(extra)
    (tmp_path / sid / "persist.json").write_text(gojson.encode(api.SANDBOX_STATE, orphan) + "\n")
    from kata_console.engine.clock import FrozenClock
    from tests.enginekit import layer

    def erofs(rootfs: Any, host: Any) -> list[Any]:  # the layers this test names
        lowers = next(o[9:] for o in rootfs.options if o.startswith("lowerdir="))
        return [layer(int(p.split("/")[-2])) for p in lowers.split(":")]

    hypervisor = SimHypervisor(
        block_driver=orphan["Config"]["HypervisorConfig"]["BlockDeviceDriver"]
    )
    hypervisor.running, hypervisor.sandbox_id = True, sid  # stand for Go's running QEMU
    agent = SimAgent()
    agent.sandbox_id = sid  # and its guest's agent (the sim never saw its containers)
    sb = restore_sandbox(
        P.PersistStore(tmp_path, fsync=False),
        sid,
        agent=agent,
        hypervisor=hypervisor,
        clock=FrozenClock(),
        erofs_devices=erofs,
    )
    assert [c["ID"] for c in sb.orphan_configs] == ["lost"]
    rng = random.Random(11)
    live = sorted(sb.containers)
    for step in range(60):
        choice = rng.random()
        if choice < 0.4 or not live:
            cid = f"n{step}"
            rootfs = erofs_rootfs(*rng.sample(range(1, 9), rng.randrange(1, 3)))
            await sb.create_container(ContainerConfig(cid, rootfs))
            live.append(cid)
        elif choice < 0.6:
            cid = rng.choice(live)
            if sb.containers[cid].state == "ready":
                await sb.start_container(cid)
        else:
            cid = live.pop(rng.randrange(len(live)))
            await sb.stop_container(cid, force=True)
            await sb.delete_container(cid)
        on_disk = {"": (tmp_path / sid / "persist.json").read_bytes()}
        on_disk.update(
            {c: (tmp_path / sid / c / "persist.json").read_bytes() for c in sb.containers}
        )
        assert on_disk == _fresh_files(sb), f"after step {step}"
        written = json.loads(on_disk[""])["Config"]["ContainerConfigs"]
        assert written[-1] == extra or not sb.containers, f"after step {step}"
