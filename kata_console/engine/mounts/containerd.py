"""What containerd's paths say: snapshot ids and roles, mount-manager activations, bundles.

erofs-chains.md §1.2-§1.4: `<root>/snapshots/<id>/{layer.erofs,fsmeta.erofs,rwlayer.img,fs}`
(any snapshotter root, `root_path` may move it), the mount manager's
`.../io.containerd.mount-manager.v1.<plugin>/t/<mid>/<n>` activations (each with a
`<n>-type` file) and the runtime's bundle rootfs `.../io.containerd.runtime.v2.task/<ns>/
<id>/rootfs`. Plain string work, no regular expressions: it runs for every layer.
"""

from __future__ import annotations

from kata_console.engine.mounts.chainmodel import Snapshot

SNAPSHOT_ROLES = frozenset({"layer.erofs", "fsmeta.erofs", "rwlayer.img", "fs"})
_MOUNT_MANAGER = "/io.containerd.mount-manager.v1."
_TASKS = "/io.containerd.runtime.v2.task/"


def snapshot_of(path: str | None) -> Snapshot | None:
    """containerd snapshot id and role from `.../snapshots/<id>/<role>`."""
    if not path or "/snapshots/" not in path:
        return None
    head, _, role = path.rpartition("/")
    if role not in SNAPSHOT_ROLES:
        return None
    head, _, sid = head.rpartition("/")
    if not sid or not (head == "/snapshots" or head.endswith("/snapshots")):
        return None
    return Snapshot(sid, role)


def activation_of(path: str) -> tuple[str, str] | None:
    """(activation id, mount name) of a mount-manager target `.../t/<mid>/<n>`."""
    at = path.find(_MOUNT_MANAGER)
    if at < 0:
        return None
    parts = path[at + len(_MOUNT_MANAGER) :].split("/")
    if len(parts) != 4 or not parts[0] or parts[1] != "t" or not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3]


def bundle_of(path: str) -> dict[str, str] | None:
    """Namespace and container id of a task's bundle rootfs."""
    at = path.find(_TASKS)
    if at < 0:
        return None
    parts = path[at + len(_TASKS) :].split("/")
    if len(parts) != 3 or parts[2] != "rootfs" or not parts[0] or not parts[1]:
        return None
    return {"namespace": parts[0], "id": parts[1]}


def is_snapshot_upper(path: str) -> bool:
    """`.../snapshots/<id>/fs`: the upper of containerd 2.1 and of a 2.2+ non-block snapshot."""
    snap = snapshot_of(path)
    return snap is not None and snap.role == "fs"


def is_activation_upper(path: str) -> bool:
    """`.../t/<mid>/<n>/upper`: the upper of a 2.2+ block-mode snapshot (on `rwlayer.img`)."""
    head, _, tail = path.rpartition("/")
    return tail == "upper" and activation_of(head) is not None
