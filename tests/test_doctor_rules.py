"""Each doctor rule on recordings: the demo node (`fixtures/hosts/demo-node.json`, healthy)
gives no finding at all, and each test changes one fact of that node the way it goes wrong
on a real one, then checks that exactly the rule for it speaks, with its evidence. The
chain rules run on `fixtures/hosts/demo.json`'s mount table (a refused fsmeta layer and a
deleted backing file, recorded from a real kernel)."""

from __future__ import annotations

import copy

import pytest

from backends.host.snapshot import SnapshotHost
from kata_console.engine.doctor import RULES, checked, findings_for, severity_counts
from kata_console.engine.doctor.finding import Finding, at_least
from kata_console.engine.inspect.extras import FileFacts, HostExtras, LoopFacts, host_chains
from kata_console.engine.inspect.facts import ProcessFacts
from kata_console.engine.inspect.report import HostReport, inspect_host
from kata_console.inspection import open_inspection
from tests.conftest import REPO

NODE = REPO / "fixtures" / "hosts" / "demo-node.json"
CHAINS = REPO / "fixtures" / "hosts" / "demo.json"
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


@pytest.fixture(scope="module")
def healthy() -> HostReport:
    insp = open_inspection(str(NODE))
    vc, kata = insp.recorded_roots  # type: ignore[misc]
    return inspect_host(insp.ports, vc_root=vc, kata_root=kata)


@pytest.fixture
def node(healthy: HostReport) -> HostReport:
    return copy.deepcopy(healthy)


def _extras(**kw: object) -> HostExtras:
    return HostExtras(**kw)  # type: ignore[arg-type]


def _ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def _sb(report: HostReport, sid: str):  # type: ignore[no-untyped-def]
    return next(s for s in report.sandboxes if s.id == sid)


def test_every_rule_is_found_and_the_healthy_node_gives_nothing(node: HostReport) -> None:
    assert len(RULES) == len({r.id for r in RULES}) >= 17
    assert findings_for(node, _extras()) == []  # every rule ran, nothing to say
    assert checked(node, _extras())["rules_skipped"] == []
    skipped = checked(node, None)["rules_skipped"]
    assert "orphan-loop" in skipped and "shim-missing" not in skipped


def test_erofs_refused_and_deleted_layers_on_a_recorded_mount_table(node: HostReport) -> None:
    chains = host_chains(SnapshotHost.load(CHAINS), [])
    found = findings_for(node, _extras(host_chains=chains))
    refused = [f for f in found if f.id == "erofs-rootfs-refused"]
    assert [f.kata_error for f in refused] == [
        f"unsupported mount source {SNAP}/4/fsmeta.erofs for {SNAP}/4/fs"
    ]
    (gone,) = [f for f in found if f.id == "layer-backing-file-gone"]
    assert gone.device == "/dev/loop2" and f"{SNAP}/6/fs" in gone.title
    assert gone.fix.endswith(f"umount {SNAP}/6/fs && losetup -d /dev/loop2")
    # the two overlays of demo.json use layers 1, 2, 3 and 8: nothing else is left over
    assert _ids(found) == {"erofs-rootfs-refused", "layer-backing-file-gone"}


def test_a_container_chain_kata_refuses(node: HostReport) -> None:
    chains = host_chains(SnapshotHost.load(CHAINS), [])
    sb = _sb(node, "sb-web")
    chain = copy.deepcopy(chains.chains[0])  # type: ignore[union-attr]
    chain.layers[0].kata_error = f"erofs mount not found for {chain.layers[0].path}"
    sb.containers[1].chain = chain
    (f,) = findings_for(node, _extras())
    assert (f.id, f.sandbox, f.container, f.severity) == (
        "erofs-rootfs-refused",
        "sb-web",
        "web",
        "error",
    )
    assert f.kata_error == chain.layers[0].kata_error


def test_orphan_loop_only_for_a_layer_no_mount_and_no_device_uses(node: HostReport) -> None:
    chains = host_chains(SnapshotHost.load(CHAINS), [])
    loops = [
        LoopFacts("loop0", f"{SNAP}/2/layer.erofs"),  # mounted
        LoopFacts("loop7", f"{SNAP}/9/layer.erofs"),  # nobody
        LoopFacts("loop8", f"{SNAP}/1/layer.erofs"),  # a persist.json device's file
        LoopFacts("loop9", "/var/lib/images/disk.img"),  # not a layer: not ours to judge
    ]
    found = [f for f in findings_for(node, _extras(loops=loops, host_chains=chains))]
    (f,) = [f for f in found if f.id == "orphan-loop"]
    assert f.device == "/dev/loop7" and f.fix == "losetup -d /dev/loop7"


def test_leftover_erofs_mount(node: HostReport) -> None:
    chains = host_chains(SnapshotHost.load(CHAINS), [])
    assert chains is not None
    healthy = copy.deepcopy(chains.erofs_mounts[0])
    assert healthy.backing_file and healthy.backing_file.endswith("layer.erofs")
    extra = copy.deepcopy(healthy)
    extra.target = f"{SNAP}/12/fs"
    extra.backing_file = f"{SNAP}/12/layer.erofs"
    chains.erofs_mounts.append(extra)
    found = findings_for(node, _extras(host_chains=chains))
    (f,) = [f for f in found if f.id == "leftover-erofs-mount"]
    assert f.title == f"erofs mount {SNAP}/12/fs is used by no overlay and no sandbox"
    extra.backing_file = f"{SNAP}/1/layer.erofs"  # a sandbox's device file: in use
    assert "leftover-erofs-mount" not in _ids(findings_for(node, _extras(host_chains=chains)))


def test_a_device_file_that_is_gone(node: HostReport) -> None:
    path = f"{SNAP}/2/layer.erofs"
    files = {path: FileFacts(path, error="no such file or directory")}
    found = findings_for(node, _extras(files=files))
    assert {(f.id, f.sandbox, f.device) for f in found} == {
        ("device-file-gone", sid, "b81e4d07a2c95f36") for sid in ("sb-batch", "sb-legacy", "sb-web")
    }
    files = {path: FileFacts(path, dev=1, ino=2)}  # there, and no mount holds another inode
    assert findings_for(node, _extras(files=files)) == []


def test_refcount_disagreeing_with_device_maps(node: HostReport) -> None:
    _sb(node, "sb-web").devices[0]["refcount"] = 3
    (f,) = findings_for(node, _extras())
    assert (f.id, f.sandbox, f.device) == ("device-refcount-mismatch", "sb-web", "3f6c1d2e8a9b0c47")
    assert "RefCount 3 but 2 container(s)" in f.title
    assert f.evidence[1] == "DeviceMaps referencing it: sb-web, web"


def test_an_attached_device_no_container_references(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    for c in sb.containers:
        c.devices = [d for d in c.devices if d != "b81e4d07a2c95f36"]
    (f,) = findings_for(node, _extras())
    assert "AttachCount 1 with no container" in f.title


def test_a_block_index_used_twice(node: HostReport) -> None:
    sb = _sb(node, "sb-batch")
    sb.devices[1]["index"] = sb.devices[0]["index"]
    (f,) = findings_for(node, _extras())
    assert (f.id, f.sandbox, f.severity) == ("block-index-reused", "sb-batch", "error")
    assert len(f.evidence) == 2


def test_a_live_sandbox_whose_shim_died(node: HostReport) -> None:
    sb = _sb(node, "sb-batch")
    sb.processes = [p for p in sb.processes if p.role != "shim"]
    found = findings_for(node, _extras())
    assert _ids(found) == {"shim-missing", "vm-without-shim"}
    assert all(f.sandbox == "sb-batch" for f in found)
    # stopped sb-legacy has no processes at all and is not reported
    assert not [f for f in found if f.sandbox == "sb-legacy"]


def test_a_vm_and_a_virtiofsd_without_their_owner(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    vmm = next(p for p in sb.processes if p.role == "vmm")
    sb.processes = [p for p in sb.processes if p.role == "virtiofsd"]
    node.unclaimed.append(copy.deepcopy(vmm))
    node.unclaimed[-1].sandbox_id = "sb-gone"
    found = findings_for(node, _extras())
    pairs = {(f.id, f.sandbox) for f in found}
    assert ("virtiofsd-without-vm", "sb-web") in pairs
    assert ("vm-without-shim", "sb-gone") in pairs
    assert ("shim-missing", "sb-web") in pairs


def test_a_shim_without_a_sandbox_directory(node: HostReport) -> None:
    node.unclaimed.append(ProcessFacts(77, "containerd-shim-kata-v2", "shim", "sb-x", ["shim"]))
    (f,) = findings_for(node, _extras())
    assert (f.id, f.sandbox) == ("shim-without-sandbox", "sb-x") and "kill 77" in f.fix


def test_a_torn_persist_json_names_the_file_and_the_error(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    sb.errors.append(f"{sb.state_dir}/web/persist.json: empty (a save was interrupted)")
    sb.errors.append(
        f"{sb.state_dir}/persist.json: json: cannot unmarshal string into Go struct field "
        "SandboxState.State of type types.StateString"
    )
    found = findings_for(node, _extras())
    assert {(f.container, f.kata_error is not None) for f in found} == {
        ("web", False),
        (None, True),
    }


def test_netns_missing_only_for_a_live_sandbox(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    assert sb.network is not None
    sb.network.error = f"missing: {sb.network.netns}"
    sb.network.links = []
    (f,) = findings_for(node, _extras())
    assert (
        f.id == "netns-missing"
        and f.evidence[1] == f"{sb.network.netns}: missing: {sb.network.netns}"
    )
    # sb-legacy (stopped) has a missing namespace in the recording: that is normal


def test_a_tap_without_redirects(node: HostReport) -> None:
    sb = _sb(node, "sb-batch")
    assert sb.network is not None
    sb.network.redirects = [r for r in sb.network.redirects if r.dst != "tap0_kata"]
    (f,) = findings_for(node, _extras())
    assert (f.id, f.device) == ("tap-without-redirect", "tap0_kata")
    assert f.title == "tap tap0_kata: no redirect into tap0_kata: traffic will not flow"


def test_link_counters_growing_between_two_reads(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    assert sb.network is not None
    again = copy.deepcopy(sb.network)
    same = findings_for(node, _extras(netns_again={again.netns: copy.deepcopy(again)}))
    assert same == []
    eth0 = next(link for link in again.links if link.name == "eth0")
    eth0.stats["rx_dropped"] += 5
    eth0.stats["rx_bytes"] += 1000  # traffic alone is no finding
    (f,) = findings_for(node, _extras(netns_again={again.netns: again}))
    assert (f.id, f.device) == ("link-errors-growing", "eth0")
    assert f.evidence[0].endswith("rx_dropped 0 -> 5")


def test_the_shim_socket_unreachable_while_the_shim_runs(node: HostReport) -> None:
    sb = _sb(node, "sb-web")
    assert sb.shim is not None
    sb.shim.reachable = False
    sb.shim.error = f"shim unreachable: no socket at {sb.shim.socket}"
    (f,) = findings_for(node, _extras())
    assert f.id == "shim-socket-unreachable" and "no socket at" in f.evidence[1]
    assert f.kata_error == (  # kata-runtime's ClientSocketAddress, both paths tried
        "it fails to stat both /run/vc/sbs/sb-web/shim-monitor.sock and "
        "/run/kata/sb-web/shim-monitor.sock with error "
        "stat /run/kata/sb-web/shim-monitor.sock: no such file or directory"
    )
    sb.shim.error = "not in the recording"  # a replay that never asked: no claim
    assert findings_for(node, _extras()) == []


def test_leftover_cgroups_of_gone_sandboxes_only(node: HostReport) -> None:
    cgroups = [
        "/sys/fs/cgroup/kubepods/besteffort/pod1/kata_sb-web",  # alive
        "/sys/fs/cgroup/kubepods/besteffort/pod2/kata_sb-gone",
        "/sys/fs/cgroup/kata_overhead/sb-old",
    ]
    found = findings_for(node, _extras(cgroups=cgroups))
    assert [(f.id, f.sandbox) for f in found] == [
        ("leftover-cgroup", "sb-gone"),
        ("leftover-cgroup", "sb-old"),
    ]


def test_findings_sort_worst_first_and_count_by_severity(node: HostReport) -> None:
    _sb(node, "sb-web").devices[0]["refcount"] = 3  # a warning
    sb = _sb(node, "sb-batch")
    sb.devices[1]["index"] = sb.devices[0]["index"]  # an error
    found = findings_for(node, _extras())
    assert [f.severity for f in found] == ["error", "warning"]
    assert severity_counts(found) == {"error": 1, "warning": 1, "info": 0}
    assert at_least("error", "warning") and not at_least("info", "warning")


def test_a_device_file_that_is_another_inode_than_the_mount_holds(node: HostReport) -> None:
    chains = host_chains(SnapshotHost.load(CHAINS), [])
    path = f"{SNAP}/1/layer.erofs"  # demo.json: file-backed erofs mounts of inode 2163666
    same = {path: FileFacts(path, dev=0xFE00, ino=2163666)}
    found = findings_for(node, _extras(files=same, host_chains=chains))
    assert "device-file-gone" not in _ids(found)
    other = {path: FileFacts(path, dev=0xFE00, ino=999)}  # re-created under the same name
    found = findings_for(node, _extras(files=other, host_chains=chains))
    gone = [f for f in found if f.id == "device-file-gone"]
    assert {(f.sandbox, f.device) for f in gone} == {
        (sid, "3f6c1d2e8a9b0c47") for sid in ("sb-batch", "sb-legacy", "sb-web")
    }
    assert gone[0].title == "the device's BlockDrive.File is not the file the erofs mount holds"
    assert f"stat {path}: inode 999" in gone[0].evidence
