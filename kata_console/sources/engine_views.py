"""How the engine's sandboxes look in the console: `SandboxView`s built from the engine's
own objects (its states, device manager, refused creates, measured agent health), part of
`EngineSource` (a mixin: the state lives there)."""

from __future__ import annotations

from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.sandbox import Sandbox
from kata_console.engine.mounts.chainmodel import Chain
from kata_console.engine.mounts.rootfs import RootFs, parse_erofs_rootfs_options
from kata_console.sources.model import (
    ContainerView,
    DeviceView,
    SandboxView,
)
from kata_console.sources.rootfs_chains import RootfsSpec, rootfs_chains


class EngineViews:
    """`EngineSource`'s views of its sandboxes."""

    def _sandbox_view(self, sb: Sandbox, chains: dict[str, Chain]) -> SandboxView:
        containers = [
            self._container_view(sb, c.id, c.state, c.config, chains)
            for c in sb.containers.values()
        ]
        containers += [
            self._container_view(sb, cid, "", ContainerConfig(cid, rootfs), chains, error)
            for (sid, cid), (rootfs, error) in self.refused.items()
            if sid == sb.id and cid not in sb.containers
        ]
        agent = sb.agent
        health, evidence = self.agent_health(sb.id)
        facts = [
            ("agent health", evidence),
            ("agent address", getattr(agent, "url", "in-process sim")),
            ("block driver", sb.config.block_device_driver),
            ("block indexes in use", ", ".join(map(str, sorted(sb.block_index_map))) or "-"),
        ]
        spawned = getattr(agent, "spawned", None)
        if spawned is not None:
            gone = sb.id not in self._closers
            facts.append(
                ("agent pid", f"{spawned.pid} (stopped with the VM)" if gone else str(spawned.pid))
            )
        devices = [
            DeviceView(
                r.id,
                r.host_path,
                r.kind,
                r.refcount,
                r.attach_count,
                r.index,
                r.address,
                r.read_only,
            )
            for r in sb.device_rows()
        ]
        return SandboxView(
            sb.id,
            sb.state or "",
            sb.config.hypervisor_type,
            health,
            containers,
            devices,
            sb.created,
            facts,
        )

    def _container_view(
        self,
        sb: Sandbox,
        cid: str,
        state: str,
        config: ContainerConfig,
        chains: dict[str, Chain],
        error: str | None = None,
    ) -> ContainerView:
        rootfs = config.rootfs
        chain = chains.get(cid)
        lowers, _ = parse_erofs_rootfs_options(rootfs.options)
        kind = "erofs" if chain is not None and chain.erofs else (rootfs.type or "-")
        c = sb.containers.get(cid)
        devices = [d.id for d in c.devices] if c is not None else []
        pid = c.process.pid if c is not None and c.process.pid > 0 else None
        return ContainerView(
            cid,
            sb.id,
            state,
            kind,
            len(lowers),
            pid,
            chain,
            error or (chain.kata_verdict if chain is not None else None),
            devices,
            self.exits.get((sb.id, cid)),
        )

    def _rootfs_chains(self) -> dict[str, Chain]:
        if self._chains is None:
            if self.host is None or not self.rootfs:
                self._chains = {}
            else:
                self._chains = rootfs_chains(self.host, self.host.read_mountinfo(), self.rootfs)
        return self._chains

    def _remember_rootfs(self, cid: str, rootfs: RootFs) -> None:
        lowers, upper = parse_erofs_rootfs_options(rootfs.options)
        if lowers and cid not in self.rootfs:
            self.rootfs[cid] = RootfsSpec(tuple(lowers), upper or None)
            self._chains = None
