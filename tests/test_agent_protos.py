"""The committed generated code matches the protos and the pinned generator."""

from __future__ import annotations

from pathlib import Path

from backends.agent import gen
from backends.agent.generated import agent_pb2, agent_pb2_grpc, health_pb2, oci_pb2


def test_regenerating_gives_the_committed_files(tmp_path: Path) -> None:
    written = gen.generate(tmp_path)
    fresh = {p.name: p.read_bytes() for p in written}
    committed = {p.name: p.read_bytes() for p in gen.GENERATED.iterdir() if p.is_file()}
    assert sorted(committed) == sorted(fresh), "files added or missing: run `make protos`"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated files (run `make protos`): {stale}"


def test_method_paths_are_the_real_agents() -> None:
    agent = agent_pb2.DESCRIPTOR.services_by_name["AgentService"]
    assert agent.full_name == "grpc.AgentService"
    health = health_pb2.DESCRIPTOR.services_by_name["Health"]
    assert health.full_name == "grpc.Health"
    assert {"Check", "Version"} <= {m.name for m in health.methods}
    source = Path(agent_pb2_grpc.__file__).read_text()
    assert "'/grpc.AgentService/StartContainer'" in source


def test_field_numbers_are_upstreams() -> None:
    def numbers(message: type) -> dict[str, int]:
        return {f.name: f.number for f in message.DESCRIPTOR.fields}  # type: ignore[attr-defined]

    assert numbers(agent_pb2.Storage) == {
        "driver": 1, "driver_options": 2, "source": 3, "fstype": 4, "options": 5,
        "mount_point": 6, "fs_group": 7, "shared": 8,
    }  # fmt: skip
    assert numbers(agent_pb2.Device) == {
        "id": 1, "type": 2, "vm_path": 3, "container_path": 4, "options": 5,
    }  # fmt: skip
    assert numbers(agent_pb2.StringUser) == {"uid": 1, "gid": 2, "additionalGids": 3}
    assert numbers(agent_pb2.CreateContainerRequest)["OCI"] == 6
    assert numbers(agent_pb2.CreateContainerRequest)["stderr_port"] == 11
    assert numbers(agent_pb2.CreateSandboxRequest)["sandbox_id"] == 5
    assert numbers(agent_pb2.NetworkStats)["tx_dropped"] == 9
    assert numbers(oci_pb2.Spec)["Linux"] == 8
