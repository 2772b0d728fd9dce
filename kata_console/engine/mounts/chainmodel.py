"""The resolved chain `overlay -> layer -> erofs mount -> loop/file -> backing file`, as data.

Plain dataclasses with a stable `to_dict()` (the `chains --json` contract: keys are added,
never removed), so
the CLI, the console and tests all read the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK = "ok"
NOT_MOUNTED = "not-mounted"
NOT_EROFS = "not-erofs"
MISSING = "missing"
DELETED = "deleted"
DETACHED = "detached"
RELATIVE = "relative"
UNRESOLVABLE = "unresolvable"

#: statuses that mean "Kata cannot use this layer as it stands"
BAD_STATUSES = frozenset({NOT_MOUNTED, NOT_EROFS, MISSING, DELETED, DETACHED, UNRESOLVABLE})


@dataclass(slots=True)
class DeviceHop:
    """What an erofs mount (or a backing file) reads from: a loop, a file, a partition, a
    device-mapper target or a plain block device. `parent` continues the chain when the
    backing file itself lives on another loop or erofs mount (nesting)."""

    kind: str  # loop | file | partition | dm | block | none
    name: str | None = None
    majmin: str | None = None
    backing_file: str | None = None
    deleted: bool = False
    offset: int | None = None
    sizelimit: int | None = None
    autoclear: bool | None = None
    ro: bool | None = None
    inode: int | None = None
    backing_majmin: str | None = None
    symlink_target: str | None = None
    dm_name: str | None = None
    start: int | None = None
    slaves: list[DeviceHop] = field(default_factory=list)
    mount: str | None = None
    parent: DeviceHop | None = None
    status: str = OK
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "majmin": self.majmin,
            "backing_file": self.backing_file,
            "deleted": self.deleted,
            "offset": self.offset,
            "autoclear": self.autoclear,
            "ro": self.ro,
        }
        extras = {
            "sizelimit": self.sizelimit,
            "inode": self.inode,
            "backing_majmin": self.backing_majmin,
            "symlink_target": self.symlink_target,
            "dm_name": self.dm_name,
            "start": self.start,
            "mount": self.mount,
        }
        out.update({k: v for k, v in extras.items() if v is not None})
        if self.slaves:
            out["slaves"] = [s.to_dict() for s in self.slaves]
        if self.parent is not None:
            out["parent"] = self.parent.to_dict()
        if self.status != OK or self.reason:
            out["status"] = self.status
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class Snapshot:
    """containerd EROFS snapshot a path belongs to (`.../snapshots/<id>/<role>`)."""

    id: str
    role: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "role": self.role}


@dataclass(slots=True)
class Layer:
    """One overlay layer (lower, data-only or upper) and where its bytes come from."""

    role: str  # lower | data | upper
    index: int
    path: str
    fstype: str | None = None
    source: str | None = None
    majmin: str | None = None
    device: DeviceHop | None = None
    backing_file: str | None = None
    snapshot: Snapshot | None = None
    status: str = OK
    reason: str | None = None
    kata_error: str | None = None
    mount_id: int | None = None
    subpath: str | None = None
    activation: dict[str, Any] | None = None
    #: the layer is an ordinary directory on `fstype` (a plain overlay), not a mount
    directory: bool = False
    #: relative lowerdir: the directory it was resolved against ...
    base: str | None = None
    #: ... or, when none could be proven, every candidate and how many layers it holds
    bases_tried: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "role": self.role,
            "index": self.index,
            "path": self.path,
            "fstype": self.fstype,
            "source": self.source,
            "majmin": self.majmin,
            "device": self.device.to_dict() if self.device else None,
            "backing_file": self.backing_file,
            "snapshot": self.snapshot.to_dict() if self.snapshot else None,
            "status": self.status,
            "reason": self.reason,
            "kata_error": self.kata_error,
        }
        if self.mount_id is not None:
            out["mount_id"] = self.mount_id
        if self.subpath:
            out["subpath"] = self.subpath
        if self.activation is not None:
            out["activation"] = self.activation
        if self.directory:
            out["directory"] = True
        if self.base is not None:
            out["base"] = self.base
        if self.bases_tried is not None:
            out["bases_tried"] = self.bases_tried
        return out


@dataclass(slots=True)
class Chain:
    """An overlay mount and its layers, top to bottom, then the upper. `mount_id` is None
    when the table has no ids (/proc/mounts) and -1 for an overlay the shim never mounted."""

    target: str
    source: str
    fstype: str
    mount_id: int | None
    layers: list[Layer] = field(default_factory=list)
    erofs: bool = False
    kata_verdict: str | None = None
    bundle: dict[str, str] | None = None

    @property
    def status(self) -> str:
        """The worst layer status (for a one-glance badge)."""
        for layer in self.layers:
            if layer.status in BAD_STATUSES:
                return layer.status
        for layer in self.layers:
            if layer.status != OK:
                return layer.status
        return OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "fstype": self.fstype,
            "mount_id": self.mount_id,
            "layers": [layer.to_dict() for layer in self.layers],
            "erofs": self.erofs,
            "kata_verdict": self.kata_verdict,
            "bundle": self.bundle,
        }


@dataclass(slots=True)
class ErofsMount:
    """One erofs mount of the table, resolved to its device and backing file."""

    target: str
    source: str
    majmin: str | None
    device: DeviceHop | None
    backing_file: str | None
    status: str = OK
    reason: str | None = None
    mount_id: int | None = None
    snapshot: Snapshot | None = None
    activation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "majmin": self.majmin,
            "device": self.device.to_dict() if self.device else None,
            "backing_file": self.backing_file,
            "status": self.status,
            "reason": self.reason,
            "mount_id": self.mount_id,
            "snapshot": self.snapshot.to_dict() if self.snapshot else None,
            "activation": self.activation,
        }


@dataclass(slots=True)
class ChainReport:
    """Everything `kata-console chains` prints."""

    chains: list[Chain] = field(default_factory=list)
    erofs_mounts: list[ErofsMount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chains": [c.to_dict() for c in self.chains],
            "erofs_mounts": [m.to_dict() for m in self.erofs_mounts],
            "warnings": list(self.warnings),
        }
