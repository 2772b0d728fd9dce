"""Builders shared by the engine tests: a sandbox on the sim ports with a private store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kata_console.engine.clock import FrozenClock
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.ids import SeededIds
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.events import Event, EventBus
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.lifecycle.sim import SimAgent, SimFsShare, SimHypervisor
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist.store import PersistStore


def exact(text: str) -> str:
    """A `pytest.raises(match=...)` pattern for exactly this text (Go texts are byte-exact)."""
    return "^" + re.escape(text) + "$"


SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def layer(n: int) -> DeviceInfo:
    """A file-backed EROFS layer device as `create_erofs_devices` returns it."""
    path = f"{SNAP}/{n}/layer.erofs"
    return DeviceInfo(path, path, "b", -1, 0, read_only=True)


def erofs_rootfs(*snapshots: int, upper: int = 99) -> RootFs:
    lower = ":".join(f"{SNAP}/{n}/fs" for n in snapshots)
    return RootFs(
        "overlay",
        "overlay",
        [f"lowerdir={lower}", f"upperdir={SNAP}/{upper}/fs", f"workdir={SNAP}/{upper}/work"],
    )


def overlay_rootfs(cid: str) -> RootFs:
    return RootFs(
        f"/run/containerd/k8s.io/{cid}/rootfs",
        "overlay",
        ["lowerdir=/l1:/l2"],
        target=f"/run/containerd/k8s.io/{cid}/rootfs",
        mounted=True,
    )


class Kit:
    """One sandbox with sim ports, a frozen clock, seeded ids and a recorded event list."""

    def __init__(
        self,
        tmp: Path | None,
        *,
        driver: str = "virtio-scsi",
        sid: str = "sb1",
        layers: dict[str, list[int]] | None = None,
        **sandbox_kw: Any,
    ) -> None:
        self.agent = SimAgent(
            create_container_timeout=sandbox_kw.pop("create_container_timeout", 60.0)
        )
        self.hypervisor = SimHypervisor(block_driver=driver)
        self.fs_share = SimFsShare()
        self.clock = FrozenClock()
        self.bus = EventBus(clock=self.clock)
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.store = PersistStore(tmp, fsync=False) if tmp is not None else None
        self.layers = layers or {}

        def erofs(rootfs: RootFs, host: Any) -> list[DeviceInfo]:
            lowers = next((o[9:] for o in rootfs.options if o.startswith("lowerdir=")), "")
            return [layer(int(p.split("/")[-2])) for p in lowers.split(":") if "/snapshots/" in p]

        self.sandbox = Sandbox(
            SandboxConfig(sid, block_device_driver=driver),
            agent=self.agent,
            hypervisor=self.hypervisor,
            store=self.store,
            clock=self.clock,
            ids=SeededIds(7),
            bus=self.bus,
            fs_share=self.fs_share,
            erofs_devices=erofs,
            **sandbox_kw,
        )

    async def up(self, start: bool = True) -> Sandbox:
        await self.sandbox.create()
        if start:
            await self.sandbox.start()
        return self.sandbox

    async def container(
        self, cid: str, *snapshots: int, devices: list[DeviceInfo] | None = None
    ) -> Any:
        rootfs = erofs_rootfs(*snapshots) if snapshots else overlay_rootfs(cid)
        return await self.sandbox.create_container(
            ContainerConfig(cid, rootfs, list(devices or []))
        )

    def steps(self, container: str | None = None) -> list[str]:
        return [
            e.text
            for e in self.events
            if e.kind == "step.begin"
            and not e.text.startswith("save ")
            and (container is None or e.container == container)
        ]

    def mark(self) -> int:
        return len(self.events)

    def steps_since(self, mark: int) -> list[str]:
        return [
            e.text
            for e in self.events[mark:]
            if e.kind == "step.begin" and not e.text.startswith("save ")
        ]

    def row(self, host_path: str) -> Any:
        return next((r for r in self.sandbox.device_rows() if r.host_path == host_path), None)
