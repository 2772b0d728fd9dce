"""The EROFS mount-chain resolver: overlay rootfs -> lowerdir -> erofs mount -> device -> file.

Implements erofs-chains.md §6 for every overlay and every erofs mount of a table (erofs
mounts with no overlay above them are what a Kata Go host shows, since the shim skips the
host overlay). Each layer also carries `kata_error`: the exact text Kata's
`createErofsDevices` would fail with for it (derived from this resolution, see
`verdict.py`), so an operator sees both the truth on the host and the runtime's verdict.

An overlay whose lowers are ordinary directories (docker, the overlayfs snapshotter) is a
plain overlay: its layers are shown as directories on their filesystem, and Kata shares
such a rootfs with the guest as a directory (it is not an EROFS rootfs).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from kata_console.engine.mounts.blockdev import BlockResolver
from kata_console.engine.mounts.chainmodel import (
    NOT_EROFS,
    NOT_MOUNTED,
    RELATIVE,
    UNRESOLVABLE,
    Chain,
    ChainReport,
    DeviceHop,
    ErofsMount,
    Layer,
    Snapshot,
)
from kata_console.engine.mounts.containerd import activation_of, bundle_of, snapshot_of
from kata_console.engine.mounts.hostmemo import MemoHost
from kata_console.engine.mounts.mounttable import Mount, MountTable, overlay_layers, top_of
from kata_console.engine.mounts.relative import BaseChoice, choose_base, join
from kata_console.engine.mounts.rootfs import RootFs, is_erofs_rootfs
from kata_console.engine.mounts.verdict import KataVerdicts
from kata_console.engine.ports import HostView

__all__ = ["NO_IDS", "ChainResolver", "resolve_chains", "snapshot_of"]

#: the report's warning for a /proc/mounts table
NO_IDS = (
    "the mount table is in /proc/mounts format: it has no mount ids and no MAJ:MIN, so "
    "mount ids are null and devices were looked up by their source path"
)


class ChainResolver:
    """Resolves a whole report over one mount table; every host answer is asked once."""

    def __init__(self, table: MountTable, host: HostView, *, check_st_dev: bool = False) -> None:
        self.table = table
        self.host = MemoHost(host)
        self.blocks = BlockResolver(table, self.host)
        self.kata = KataVerdicts(table, self.host)
        self.check_st_dev = check_st_dev
        self._erofs: dict[int, ErofsMount] = {}
        self._erofs_list: list[Mount] | None = None

    def report(self, paths: Iterable[str] | None = None) -> ChainReport:
        self.table.check()  # the report carries the warnings: check every line once, first
        mounts = self.table.of_type("overlay", "erofs")  # one pass over the table
        overlays = [m for m in mounts if m.fstype == "overlay"]
        self._erofs_list = erofs = [m for m in mounts if m.fstype == "erofs"]
        self.blocks.erofs_mounts = erofs
        report = ChainReport(
            chains=[self.chain(m) for m in overlays],
            erofs_mounts=[self.erofs_mount(m) for m in erofs],
        )
        wanted = [os.path.normpath(p) for p in paths] if paths else None
        if wanted is not None:
            report.chains = [c for c in report.chains if _chain_matches(c, wanted)]
            report.erofs_mounts = [e for e in report.erofs_mounts if _erofs_matches(e, wanted)]
        report.warnings = ([] if self.table.has_ids else [NO_IDS]) + self.table.warnings
        return report

    # ----------------------------------------------------------------- erofs mounts

    def erofs_mount(self, mount: Mount) -> ErofsMount:
        cached = self._erofs.get(mount.line_no)
        if cached is not None:
            return cached
        hop = self.blocks.erofs_device(mount)
        backing = hop.backing_file
        snap = snapshot_of(backing) or snapshot_of(mount.source)
        if snap is None and hop.dm_name and hop.dm_name.startswith("containerd-erofs-"):
            snap = Snapshot(hop.dm_name[len("containerd-erofs-") :], "dm-verity")
        result = ErofsMount(
            target=mount.mountpoint,
            source=mount.source,
            majmin=mount.majmin,
            device=hop,
            backing_file=backing,
            status=hop.status,
            reason=hop.reason,
            mount_id=mount.id,
            snapshot=snap,
            activation=self._activation(mount.mountpoint),
        )
        self._erofs[mount.line_no] = result
        return result

    # ----------------------------------------------------------------- overlays

    def chain(self, mount: Mount) -> Chain:
        ovl = overlay_layers(mount)
        chain = Chain(
            target=mount.mountpoint,
            source=mount.source,
            fstype=mount.fstype,
            mount_id=mount.id,
            bundle=bundle_of(mount.mountpoint),
        )
        rels = [p for p in ovl.lowers + ovl.data if p != "" and not p.startswith("/")]
        base = self._base(rels, ovl.upper) if rels else None
        # Kata is handed the layers containerd named (absolute), not /proc's compacted form.
        named = [_named(p, base) for p in ovl.lowers + ovl.data]
        options = [f"lowerdir={':'.join(named)}"]
        if ovl.upper:
            options.append(f"upperdir={ovl.upper}")
        chain.erofs = is_erofs_rootfs(RootFs("overlay", "overlay", options), self.host)
        roles = ["lower"] * len(ovl.lowers) + ["data"] * len(ovl.data)
        for i, (role, path) in enumerate(zip(roles, ovl.lowers + ovl.data, strict=True)):
            chain.layers.append(self._lower(role, i, path, named[i], chain.erofs, base))
        if ovl.upper is not None:
            chain.layers.append(self._upper(len(chain.layers), ovl.upper, chain.erofs))
        if chain.erofs:
            chain.kata_verdict = next((la.kata_error for la in chain.layers if la.kata_error), None)
        return chain

    def _base(self, rels: list[str], upper: str | None) -> BaseChoice:
        erofs = self._erofs_list if self._erofs_list is not None else self.table.of_type("erofs")
        return choose_base(self.table, self.host, rels, upper, erofs)

    def _lower(
        self, role: str, index: int, path: str, named: str, erofs: bool, base: BaseChoice | None
    ) -> Layer:
        """One lower (or data-only) layer; `named` is the path containerd named (a relative
        one joined to its proven base), which is also what Kata was handed."""
        layer = Layer(role, index, path)
        found = self.table.all_at(named) if named.startswith("/") else None
        if found is not None and len(found) == 1 and found[0].fstype == "erofs":
            self._erofs_layer(layer, named, found[0], base)  # the common case, kept short
        else:
            self._resolve_lower(layer, named, found, erofs, base)
        if erofs:  # after the resolution: the verdict reuses what it learned
            layer.kata_error = self.kata.lower_error(named, found)
        return layer

    def _erofs_layer(self, layer: Layer, probe: str, mount: Mount, base: BaseChoice | None) -> None:
        """A layer path that is exactly one erofs mount."""
        em = self.erofs_mount(mount)
        layer.fstype, layer.source, layer.majmin = mount.fstype, mount.source, mount.majmin
        layer.mount_id, layer.activation = mount.id, em.activation
        layer.device, layer.backing_file = em.device, em.backing_file
        layer.snapshot = em.snapshot or snapshot_of(probe)
        layer.status, layer.reason = em.status, em.reason
        if probe != layer.path:
            layer.base = base.base if base else None
            layer.reason = _join(_relative_note(layer.path, base), layer.reason)
        if self.check_st_dev:
            self._cross_check(layer, probe, mount)

    def _resolve_lower(
        self,
        layer: Layer,
        probe: str,
        found: list[Mount] | None,
        erofs: bool,
        base: BaseChoice | None,
    ) -> None:
        path = layer.path
        if path == "/":
            layer.status = UNRESOLVABLE
            layer.reason = (
                "layer was passed by file descriptor (lowerdir+=/): the kernel shows no path"
            )
            return
        if found is None:  # relative, and no base could be proven
            layer.status = RELATIVE
            layer.bases_tried = base.tried if base else []
            tried = ", ".join(
                f"{t['base']} ({t['mounted']} of {t['layers']} layers mounted)"
                for t in layer.bases_tried
            )
            layer.reason = _join(
                base.reason if base else "relative lowerdir",
                f"bases tried: {tried}" if tried else "no base to try",
            )
            return
        if probe != path:
            layer.base = base.base if base else None
        layer.activation = self._activation(probe)
        mount = top_of(found)
        if mount is None:
            holder, sub = self.table.containing(probe)
            if holder is not None and holder.fstype == "erofs":
                mount, layer.subpath = holder, sub
            elif not erofs:
                self._directory(layer, holder, sub)
                return
            else:
                layer.snapshot = snapshot_of(probe)
                layer.status = NOT_MOUNTED
                layer.fstype = holder.fstype if holder else None
                where = f" on {holder.fstype} {holder.mountpoint}" if holder else ""
                layer.reason = _join(
                    _relative_note(path, base),
                    f"no mount at this path: a plain directory{where} (erofs lower unmounted?)",
                )
                return
        if mount.fstype != "erofs":
            if not erofs:  # the root of another filesystem: still just a directory
                self._directory(layer, mount, "")
                return
            layer.fstype, layer.source, layer.majmin = mount.fstype, mount.source, mount.majmin
            layer.mount_id, layer.snapshot = mount.id, snapshot_of(probe)
            layer.status = NOT_EROFS
            layer.reason = f"{mount.fstype} is mounted here, not erofs"
            return
        layer.fstype, layer.source, layer.majmin = mount.fstype, mount.source, mount.majmin
        layer.mount_id = mount.id
        em = self.erofs_mount(mount)
        layer.device, layer.backing_file = em.device, em.backing_file
        layer.snapshot = em.snapshot or snapshot_of(probe)
        layer.status, layer.reason = em.status, em.reason
        if layer.subpath:
            layer.reason = _join(
                layer.reason, f"inside erofs mount {mount.mountpoint} (sub-path {layer.subpath})"
            )
        if probe != path:
            layer.reason = _join(_relative_note(path, base), layer.reason)
        self._cross_check(layer, probe, mount)

    def _directory(self, layer: Layer, holder: Mount | None, sub: str) -> None:
        """A lower of a plain overlay: an ordinary directory on the filesystem holding it."""
        layer.directory = True
        layer.snapshot = snapshot_of(join(layer.base, layer.path) if layer.base else layer.path)
        if holder is None:
            layer.status = UNRESOLVABLE
            layer.reason = "no mount holds this directory"
            return
        layer.fstype, layer.source, layer.majmin = holder.fstype, holder.source, holder.majmin
        layer.mount_id, layer.subpath = holder.id, sub or None
        if layer.base:
            layer.reason = f"relative lowerdir resolved against {layer.base}"

    def _upper(self, index: int, upper: str, erofs: bool) -> Layer:
        layer = Layer(role="upper", index=index, path=upper, snapshot=snapshot_of(upper))
        if erofs:
            layer.kata_error = self.kata.upper_error(upper)
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

    def _activation(self, path: str) -> dict[str, object] | None:
        """containerd mount-manager activation `t/<mid>/<n>` and its `<n>-type` file."""
        found = activation_of(path)
        if found is None:
            return None
        try:
            kind: str | None = self.host.read_text(f"{path}-type").strip()
        except OSError:
            kind = None
        return {"id": found[0], "n": found[1], "type": kind}

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


def _named(path: str, base: BaseChoice | None) -> str:
    """The layer path containerd named: a relative one joined to its proven base."""
    if path and not path.startswith("/") and base is not None and base.base is not None:
        return join(base.base, path)
    return path


def _relative_note(path: str, base: BaseChoice | None) -> str | None:
    if base is None or base.base is None or path.startswith("/"):
        return None
    return f"relative lowerdir {path!r} resolved against {base.base}: {base.reason}"


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
            path = join(layer.base, layer.path) if layer.base else layer.path
            if _under(p, path) or p == layer.source or p in _device_names(layer.device):
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
