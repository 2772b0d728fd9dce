"""The EROFS mount-chain resolver: overlay rootfs -> lowerdir -> erofs mount -> device -> file.

Implements erofs-chains.md §6 for every overlay and every erofs mount of a table (erofs
mounts with no overlay above them are what a Kata Go host shows, since the shim skips the
host overlay). Each layer also carries `kata_error`: the exact text Kata's
`createErofsDevices` would fail with for it, so an operator sees both the truth on the host
and the runtime's verdict side by side.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable

from kata_console.engine.mounts.blockdev import BlockResolver
from kata_console.engine.mounts.chainmodel import (
    NOT_EROFS,
    NOT_MOUNTED,
    OK,
    RELATIVE,
    UNRESOLVABLE,
    Chain,
    ChainReport,
    DeviceHop,
    ErofsMount,
    Layer,
    Snapshot,
)
from kata_console.engine.mounts.mounttable import Mount, MountTable, overlay_layers
from kata_console.engine.mounts.rootfs import (
    RootFs,
    RootfsError,
    create_device_info,
    is_erofs_rootfs,
    layer_source,
    upper_source,
)
from kata_console.engine.ports import HostView

_SNAPSHOT = re.compile(r"/snapshots/([^/]+)/(layer\.erofs|fsmeta\.erofs|rwlayer\.img|fs)$")
_VERITY = re.compile(r"^containerd-erofs-(.+)$")
_ACTIVATION = re.compile(r"/io\.containerd\.mount-manager\.v1\.[^/]+/t/([^/]+)/([^/]+)$")
_BUNDLE = re.compile(r"/io\.containerd\.runtime\.v2\.task/([^/]+)/([^/]+)/rootfs$")


def snapshot_of(path: str | None) -> Snapshot | None:
    """containerd EROFS snapshot id and role from a path (any `root_path`)."""
    if not path:
        return None
    m = _SNAPSHOT.search(path)
    return Snapshot(m.group(1), m.group(2)) if m else None


class ChainResolver:
    """Resolves a whole report over one mount table; device lookups are cached per report."""

    def __init__(self, table: MountTable, host: HostView, *, check_st_dev: bool = False) -> None:
        self.table = table
        self.host = host
        self.blocks = BlockResolver(table, host)
        self.check_st_dev = check_st_dev
        self._erofs: dict[int, ErofsMount] = {}

    def report(self, paths: Iterable[str] | None = None) -> ChainReport:
        mounts = self.table.of_type("overlay", "erofs")  # one pass over the table
        overlays = [m for m in mounts if m.fstype == "overlay"]
        erofs = [m for m in mounts if m.fstype == "erofs"]
        report = ChainReport(
            chains=[self.chain(m) for m in overlays],
            erofs_mounts=[self.erofs_mount(m) for m in erofs],
        )
        wanted = [os.path.normpath(p) for p in paths] if paths else None
        if wanted is not None:
            report.chains = [c for c in report.chains if _chain_matches(c, wanted)]
            report.erofs_mounts = [e for e in report.erofs_mounts if _erofs_matches(e, wanted)]
        report.warnings = list(self.table.warnings)
        return report

    # ----------------------------------------------------------------- erofs mounts

    def erofs_mount(self, mount: Mount) -> ErofsMount:
        cached = self._erofs.get(mount.id)
        if cached is not None and cached.target == mount.mountpoint:
            return cached
        hop = self.blocks.erofs_device(mount)
        backing = hop.backing_file
        snap = snapshot_of(backing) or snapshot_of(mount.source)
        if snap is None and hop.dm_name and (v := _VERITY.match(hop.dm_name)):
            snap = Snapshot(v.group(1), "dm-verity")
        result = ErofsMount(
            target=mount.mountpoint,
            source=mount.source,
            majmin=mount.majmin,
            device=hop,
            backing_file=backing,
            status=hop.status,
            reason=hop.reason,
            mount_id=mount.id if mount.major >= 0 else None,
            snapshot=snap,
            activation=self._activation(mount.mountpoint),
        )
        self._erofs[mount.id] = result
        return result

    # ----------------------------------------------------------------- overlays

    def chain(self, mount: Mount) -> Chain:
        ovl = overlay_layers(mount)
        bundle = _BUNDLE.search(mount.mountpoint)
        chain = Chain(
            target=mount.mountpoint,
            source=mount.source,
            fstype=mount.fstype,
            mount_id=mount.id,
            bundle={"namespace": bundle.group(1), "id": bundle.group(2)} if bundle else None,
        )
        options = [f"lowerdir={':'.join(ovl.lowers + ovl.data)}"]
        if ovl.upper:
            options.append(f"upperdir={ovl.upper}")
        chain.erofs = is_erofs_rootfs(RootFs("overlay", "overlay", options), self.host)
        for i, path in enumerate(ovl.lowers):
            chain.layers.append(self._lower("lower", i, path, ovl.upper, chain.erofs))
        for i, path in enumerate(ovl.data):
            chain.layers.append(
                self._lower("data", len(ovl.lowers) + i, path, ovl.upper, chain.erofs)
            )
        if ovl.upper is not None:
            chain.layers.append(self._upper(len(chain.layers), ovl.upper, chain.erofs))
        if chain.erofs:
            chain.kata_verdict = next((la.kata_error for la in chain.layers if la.kata_error), None)
        return chain

    def _lower(self, role: str, index: int, path: str, upper: str | None, erofs: bool) -> Layer:
        layer = Layer(role=role, index=index, path=path)
        if erofs:
            layer.kata_error = self._kata_lower(path)
        if path == "/":
            layer.status = UNRESOLVABLE
            layer.reason = (
                "layer was passed by file descriptor (lowerdir+=/): the kernel shows no path"
            )
            return layer
        probe = path
        relative = not path.startswith("/")
        if relative:
            base = _relative_base(upper)
            if base is None:
                layer.status = RELATIVE
                layer.reason = "relative lowerdir and no absolute upperdir to resolve it against"
                return layer
            probe = posixpath.normpath(posixpath.join(base, path))
        layer.activation = self._activation(probe)
        layer.snapshot = snapshot_of(probe)
        mount = self.table.at(probe)
        if mount is None:
            holder, sub = self.table.containing(probe)
            if holder is not None and holder.fstype == "erofs":
                mount, layer.subpath = holder, sub
            else:
                layer.status = NOT_MOUNTED
                layer.fstype = holder.fstype if holder else None
                where = f" on {holder.fstype} {holder.mountpoint}" if holder else ""
                layer.reason = (
                    f"no mount at this path: a plain directory{where} (erofs lower unmounted?)"
                )
                return layer
        layer.fstype, layer.source, layer.majmin = mount.fstype, mount.source, mount.majmin
        layer.mount_id = mount.id if mount.major >= 0 else None
        if mount.fstype != "erofs":
            layer.status = NOT_EROFS
            layer.reason = f"{mount.fstype} is mounted here, not erofs"
            return layer
        em = self.erofs_mount(mount)
        layer.device, layer.backing_file = em.device, em.backing_file
        layer.snapshot = em.snapshot or layer.snapshot
        layer.status, layer.reason = em.status, em.reason
        if layer.subpath:
            layer.reason = _join(
                layer.reason, f"inside erofs mount {mount.mountpoint} (sub-path {layer.subpath})"
            )
        if relative:
            layer.reason = _join(
                f"relative lowerdir {path!r} resolved against {base}", layer.reason
            )
            if layer.status == OK:
                layer.status = RELATIVE
        self._cross_check(layer, probe, mount)
        return layer

    def _upper(self, index: int, upper: str, erofs: bool) -> Layer:
        layer = Layer(role="upper", index=index, path=upper, snapshot=snapshot_of(upper))
        if erofs:
            try:
                source = upper_source(self.table, self.host, upper)
                if source is not None:
                    create_device_info(self.host, source, False)
            except RootfsError as exc:
                layer.kata_error = str(exc)
        mount, sub = self.table.containing(upper)
        if mount is None:
            layer.status = UNRESOLVABLE
            layer.reason = "no mount holds the upperdir"
            return layer
        layer.fstype, layer.source, layer.majmin = mount.fstype, mount.source, mount.majmin
        layer.mount_id, layer.subpath = mount.id, sub or None
        layer.activation = self._activation(mount.mountpoint)
        if mount.major > 0:
            hop = self.blocks.block(mount.major, mount.minor)
            layer.device, layer.backing_file = hop, hop.backing_file
            layer.snapshot = snapshot_of(hop.backing_file) or layer.snapshot
            layer.status, layer.reason = hop.status, hop.reason
        return layer

    # ----------------------------------------------------------------- helpers

    def _kata_lower(self, path: str) -> str | None:
        """What Kata's createErofsDevices says for this lowerdir. Go splits `lowerdir=` on
        every `:`, so a path containing `:` becomes several lookups."""
        try:
            for piece in path.split(":"):
                create_device_info(self.host, layer_source(self.table, self.host, piece), True)
        except RootfsError as exc:
            return str(exc)
        return None

    def _activation(self, path: str) -> dict[str, object] | None:
        """containerd mount-manager activation `t/<mid>/<n>` and its `<n>-type` file."""
        m = _ACTIVATION.search(path)
        if not m:
            return None
        try:
            kind: str | None = self.host.read_text(f"{path}-type").strip()
        except OSError:
            kind = None
        return {"id": m.group(1), "n": m.group(2), "type": kind}

    def _cross_check(self, layer: Layer, probe: str, mount: Mount) -> None:
        """The mount we picked must be the one the kernel shows at that path (same namespace)."""
        if not self.check_st_dev or mount.major < 0:
            return
        try:
            st = self.host.stat(probe)
        except OSError:
            return
        if (os.major(st.dev), os.minor(st.dev)) != (mount.major, mount.minor):
            layer.reason = _join(
                layer.reason,
                f"st_dev of the path is {os.major(st.dev)}:"
                f"{os.minor(st.dev)}, not {mount.majmin} (overmounted?)",
            )


def _relative_base(upper: str | None) -> str | None:
    """containerd compacts long overlay options by chdir'ing to the common parent: 2.1
    (`snapshots/<id>/fs`) and 2.2+ (`t/<mid>/<n>/upper`) both put that parent two levels
    above the upperdir."""
    if not upper or not upper.startswith("/"):
        return None
    return posixpath.dirname(posixpath.dirname(upper))


def _join(a: str | None, b: str | None) -> str | None:
    return "; ".join(x for x in (a, b) if x) or None


def _under(path: str, root: str | None) -> bool:
    return bool(root) and (path == root or path.startswith(root.rstrip("/") + "/"))


def _device_names(hop: DeviceHop | None) -> set[str]:
    names: set[str] = set()
    while hop is not None:
        if hop.name:
            names.add(f"/dev/{hop.name}")
        if hop.backing_file:
            names.add(hop.backing_file)
        hop = hop.parent
    return names


def _chain_matches(chain: Chain, wanted: list[str]) -> bool:
    for p in wanted:
        if _under(p, chain.target):
            return True
        for layer in chain.layers:
            if _under(p, layer.path) or p == layer.source or p in _device_names(layer.device):
                return True
    return False


def _erofs_matches(em: ErofsMount, wanted: list[str]) -> bool:
    return any(
        _under(p, em.target) or p == em.source or p in _device_names(em.device) for p in wanted
    )


def resolve_chains(
    table: MountTable,
    host: HostView,
    paths: Iterable[str] | None = None,
    *,
    check_st_dev: bool = False,
) -> ChainReport:
    """Resolve every overlay and erofs mount of `table` (or only those through `paths`)."""
    return ChainResolver(table, host, check_st_dev=check_st_dev).report(paths)
