"""In-process pieces of the agent backend: fault syntax, conversions, listen checks."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from backends.agent import convert
from backends.agent.faults import Fault, FaultError, FaultSpecError, FaultTable, parse_fault
from backends.agent.generated import agent_pb2, oci_pb2
from backends.agent.listen import ListenError, prepare_socket_dir, socket_path
from kata_console.engine.ports import CreateContainerRequest, CreateSandboxRequest, Storage


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("StartContainer=error:NOT_FOUND", Fault("StartContainer", "error", code="NOT_FOUND")),
        (
            "Check=error:unavailable:agent gone: bye",
            Fault("Check", "error", "UNAVAILABLE", "agent gone: bye"),
        ),
        ("CreateContainer=delay:1500", Fault("CreateContainer", "delay", delay_ms=1500)),
        ("WaitProcess=crash", Fault("WaitProcess", "crash")),
    ],
)
def test_fault_specs_parse_and_round_trip(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault
    assert parse_fault(fault.spec()) == fault


@pytest.mark.parametrize(
    "spec",
    ["StartContainer", "Nope=crash", "StartContainer=error:NOPE", "StartContainer=delay:x",
     "StartContainer=explode", "StartContainer=crash:now", "=crash"],
)  # fmt: skip
def test_bad_fault_specs_are_refused_with_one_line(spec: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse_fault(spec)
    assert "\n" not in str(info.value) and spec in str(info.value)


async def test_fault_table_delays_then_errors_and_clears() -> None:
    crashed: list[str] = []
    table = FaultTable(on_crash=crashed.append)
    table.add_specs(["Check=delay:30", "Check=error:INTERNAL:x", "Version=crash"])
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(FaultError) as info:
        await table.apply("Check")
    assert loop.time() - started >= 0.025
    assert (info.value.code, info.value.message) == ("INTERNAL", "x")
    await table.apply("Version")
    assert crashed == ["Version"]
    with pytest.raises(FaultSpecError):
        table.add_specs(["Check=crash", "bad"])  # all or nothing
    assert table.specs() == ["Check=delay:30", "Check=error:INTERNAL:x", "Version=crash"]
    table.clear(["Check"])
    assert table.specs() == ["Version=crash"]
    await table.apply("Check")


def test_oci_json_fills_kata_spelling() -> None:
    spec = convert.fill(
        oci_pb2.Spec(),
        {
            "ociVersion": "1.1.0",
            "process": {"args": ["sh"], "user": {"uid": 1, "gid": 2, "additionalGids": [3]},
                        "consoleSize": {"height": 24, "width": 80}, "oomScoreAdj": -5},
            "root": {"path": "rootfs", "readonly": True},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
            "annotations": {"io.kubernetes.cri.container-type": "container"},
            "linux": {"resources": {"memory": {"limit": 1 << 30}, "hugepageLimits": [{"pageSize": "2MB", "limit": 4}]},
                      "namespaces": [{"type": "pid"}], "unknownField": 1},
        },
    )  # fmt: skip
    assert spec.Version == "1.1.0"
    assert list(spec.Process.Args) == ["sh"] and spec.Process.User.AdditionalGids == [3]
    assert (spec.Process.ConsoleSize.Width, spec.Process.OOMScoreAdj) == (80, -5)
    assert spec.Root.Readonly and spec.Mounts[0].options == ["nosuid"]
    assert spec.Annotations["io.kubernetes.cri.container-type"] == "container"
    assert spec.Linux.Resources.Memory.Limit == 1 << 30
    assert spec.Linux.Resources.HugepageLimits[0].Pagesize == "2MB"
    assert spec.Linux.Namespaces[0].Type == "pid"


def test_requests_convert_with_storages_devices_user_and_modules() -> None:
    rootfs = Storage("blk", "/dev/vda", "ext4", "/run/kata-containers/c1/rootfs",
                     options=["ro"], fs_group={"group_id": 7, "group_change_policy": "OnRootMismatch"})  # fmt: skip
    req = convert.create_container(
        CreateContainerRequest("c1", "c1", storages=[rootfs], string_user="1000:100:4,5")
    )
    assert req.storages[0].mount_point == "/run/kata-containers/c1/rootfs"
    assert req.storages[0].fs_group.group_change_policy == 1
    assert (req.string_user.uid, req.string_user.gid, list(req.string_user.additionalGids)) == (
        "1000", "100", ["4", "5"],
    )  # fmt: skip
    assert convert.from_storage(req.storages[0]) == rootfs
    sb = convert.create_sandbox(
        CreateSandboxRequest("s", kernel_modules=["e1000e EEE=1 X=2", "i915"])
    )
    assert [(m.name, list(m.parameters)) for m in sb.kernel_modules] == [
        ("e1000e", ["EEE=1", "X=2"]), ("i915", []),
    ]  # fmt: skip


def test_to_dict_keeps_numbers_numeric() -> None:
    resp = agent_pb2.StatsContainerResponse()
    resp.cgroup_stats.cpu_stats.cpu_usage.total_usage = 1 << 40
    resp.cgroup_stats.memory_stats.stats["rss"] = 5
    out = convert.to_dict(resp)
    assert out["cgroup_stats"]["cpu_stats"]["cpu_usage"]["total_usage"] == 1 << 40
    assert out["cgroup_stats"]["memory_stats"]["stats"] == {"rss": 5}
    assert out["network_stats"] == []


def test_listen_addresses() -> None:
    assert socket_path("unix:///run/a/agent.sock") == Path("/run/a/agent.sock")
    assert socket_path("unix:/run/a/agent.sock") == Path("/run/a/agent.sock")
    for bad in ["tcp://127.0.0.1:1", "unix://relative/x.sock", "unix:///" + "x" * 120]:
        with pytest.raises(ListenError):
            socket_path(bad)


def test_socket_dir_is_created_private_and_insecure_ones_refused(tmp_path: Path) -> None:
    prepare_socket_dir(tmp_path / "run" / "agent.sock")
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    for mode in (0o777, 0o770, 0o1777):
        shared.chmod(mode)
        with pytest.raises(ListenError, match="group- or world-writable"):
            prepare_socket_dir(shared / "agent.sock")


def test_stale_socket_is_replaced_live_one_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    path = run / "agent.sock"
    live = socket.socket(socket.AF_UNIX)
    live.bind(str(path))
    live.listen()
    try:
        with pytest.raises(ListenError, match="in use"):
            prepare_socket_dir(path)
    finally:
        live.close()
    prepare_socket_dir(path)  # now stale: removed
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(ListenError, match="not a socket"):
        prepare_socket_dir(path)


def test_agent_client_has_every_method_of_the_agent_port() -> None:
    import inspect

    from backends.agent.client import AgentClient
    from kata_console.engine.ports import Agent

    for name, member in vars(Agent).items():
        if name.startswith("_") or not callable(member):
            continue
        ours = getattr(AgentClient, name)
        assert inspect.iscoroutinefunction(ours), name
        want = [p for p in inspect.signature(member).parameters.values()]
        have = inspect.signature(ours).parameters
        for param in want:
            assert param.name in have, f"{name}: missing {param.name}"
            assert have[param.name].default == param.default, f"{name}: {param.name} default"


def test_importing_the_backend_silences_grpc_fork_logging_before_grpc_loads() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    code = (
        "import sys, os, backends.agent\n"
        "assert 'grpc' not in sys.modules\n"
        "print(os.environ['GRPC_ENABLE_FORK_SUPPORT'], os.environ['GRPC_VERBOSITY'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["0", "ERROR"]
