"""What `doctor` needs beyond `inspect`'s report: the host's own view of loops, layer files,
cgroups and erofs mounts, and a second read of each sandbox's link counters.

`inspect` answers "what is there per sandbox"; a diagnosis also needs what belongs to no
sandbox (a loop whose erofs mount is gone, a cgroup left by a deleted pod) and what moves
(counters between two reads). Gathered read-only through the same ports, so a live host
and a recording give the same facts; `record` saves them under the recording's
`inspect.doctor` key and a replay reads them back. A recording made before these facts
existed has none (`recorded` is False): the rules that need them then check nothing,
rather than reading "not recorded" as "not there".
"""

from __future__ import annotations

import stat as _stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kata_console.engine.inspect.facts import NetnsFacts
from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable, MountTableError
from kata_console.engine.ports import HostView

SYS_BLOCK = "/sys/block"
CGROUP_ROOT = "/sys/fs/cgroup"
#: how deep below the cgroup root Kata's directories are looked for: v2 puts a pod's
#: `kata_<id>` at kubepods/<qos>/pod<uid>/ (4), v1 adds the controller in front (5)
CGROUP_DEPTH = 6
#: Kata's Go runtime prefixes the sandbox cgroup name (`cgroupKataPrefix`) ...
KATA_CGROUP_PREFIX = "kata_"
#: ... and keeps the VMM's overhead threads under `kata_overhead/<sandbox id>`
KATA_OVERHEAD = "kata_overhead"
#: the files of a cgroup directory start with their controller's name: never directories
_CONTROL_PREFIXES = (
    "cgroup.",
    "cpu.",
    "cpuacct.",
    "cpuset.",
    "memory.",
    "io.",
    "pids.",
    "hugetlb.",
    "rdma.",
    "misc.",
    "irq.",
    "blkio.",
    "net_cls.",
    "net_prio.",
    "devices.",
    "freezer.",
    "perf_event.",
    "notify_on_release",
    "release_agent",
    "tasks",
)
DELETED_SUFFIX = " (deleted)"


@dataclass(slots=True)
class LoopFacts:
    """A bound loop device and its backing file as sysfs names it (` (deleted)` split off)."""

    name: str
    backing_file: str
    deleted: bool = False
    majmin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backing_file": self.backing_file,
            "deleted": self.deleted,
            "majmin": self.majmin,
        }


@dataclass(slots=True)
class FileFacts:
    """A persist.json device's `BlockDrive.File` as stat(2) sees it, or why it could not."""

    path: str
    dev: int | None = None
    ino: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "dev": self.dev, "ino": self.ino, "error": self.error}


@dataclass(slots=True)
class HostExtras:
    """The extra facts, and `host_chains`: the host mount table's chains (not serialised:
    a replay resolves them again from the recorded mount table and sysfs answers)."""

    recorded: bool = True
    loops: list[LoopFacts] = field(default_factory=list)
    files: dict[str, FileFacts] = field(default_factory=dict)
    cgroups: list[str] = field(default_factory=list)
    netns_again: dict[str, NetnsFacts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    host_chains: ChainReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "loops": [x.to_dict() for x in self.loops],
            "files": {k: v.to_dict() for k, v in self.files.items()},
            "cgroups": list(self.cgroups),
            "netns_again": {k: v.to_dict() for k, v in self.netns_again.items()},
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostExtras:
        return cls(
            loops=[LoopFacts(**x) for x in data.get("loops") or ()],
            files={k: FileFacts(**v) for k, v in (data.get("files") or {}).items()},
            cgroups=list(data.get("cgroups") or ()),
            netns_again={
                k: NetnsFacts.from_dict(v) for k, v in (data.get("netns_again") or {}).items()
            },
            errors=list(data.get("errors") or ()),
        )


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def read_loops(files: HostView, errors: list[str]) -> list[LoopFacts]:
    """Every bound loop device: `/sys/block/loopN/loop/backing_file` exists only while bound."""
    try:
        names = sorted(n for n in files.listdir(SYS_BLOCK) if n.startswith("loop"))
    except OSError as exc:
        errors.append(f"{SYS_BLOCK}: {_why(exc)}")
        return []
    out = []
    for name in names:
        try:
            text = files.read_text(f"{SYS_BLOCK}/{name}/loop/backing_file").removesuffix("\n")
        except OSError:
            continue  # not bound (or detached between the two reads)
        try:
            majmin: str | None = files.read_text(f"{SYS_BLOCK}/{name}/dev").strip()
        except OSError:
            majmin = None
        deleted = text.endswith(DELETED_SUFFIX)
        out.append(LoopFacts(name, text.removesuffix(DELETED_SUFFIX), deleted, majmin))
    return out


def stat_files(files: HostView, paths: list[str]) -> dict[str, FileFacts]:
    out = {}
    for path in sorted(set(paths)):
        try:
            st = files.stat(path)
            out[path] = FileFacts(path, st.dev, st.ino)
        except OSError as exc:
            out[path] = FileFacts(path, error=_why(exc))
    return out


def find_kata_cgroups(files: HostView, root: str = CGROUP_ROOT) -> list[str]:
    """Directories named `kata_<id>` and `kata_overhead/<id>` below the cgroup root."""
    found: list[str] = []
    todo = [(root, 0)]
    while todo:
        path, depth = todo.pop()
        try:
            names = files.listdir(path)
        except OSError:
            continue  # unreadable or gone: cgroups are looked for "when readable"
        for name in names:
            if name.startswith(_CONTROL_PREFIXES):
                continue
            sub = f"{path}/{name}"
            try:
                if not _stat.S_ISDIR(files.lstat(sub).mode):
                    continue
            except OSError:
                continue
            if path.rsplit("/", 1)[-1] == KATA_OVERHEAD or (
                name.startswith(KATA_CGROUP_PREFIX) and name != KATA_OVERHEAD
            ):
                found.append(sub)
            elif depth + 1 < CGROUP_DEPTH:
                todo.append((sub, depth + 1))
    return sorted(found)


def cgroup_sandbox_id(path: str) -> str:
    """The sandbox ID a Kata cgroup directory is named after."""
    parent, name = path.rsplit("/", 2)[-2:]
    if parent == KATA_OVERHEAD:
        return name
    return name.removeprefix(KATA_CGROUP_PREFIX).removesuffix(".scope").removesuffix(".slice")


def host_chains(
    files: HostView, errors: list[str], resolved: dict[str, ChainReport] | None = None
) -> ChainReport | None:
    """The host mount table's chains: erofs mounts and loops that no sandbox names.
    `resolved` are the tables inspect already resolved (shims in the host's namespace)."""
    try:
        text = files.read_mountinfo(None)
        if resolved is not None and text in resolved:
            return resolved[text]
        return resolve_chains(MountTable(text), files)
    except OSError as exc:
        errors.append(f"host mount table: {_why(exc)}")
    except MountTableError as exc:
        errors.append(f"host mount table: {exc}")
    return None


def gather_extras(
    files: HostView,
    network: Any,
    device_files: list[str],
    netns_paths: list[str],
    *,
    wait: Callable[[], None] | None = None,
    cgroup_root: str = CGROUP_ROOT,
    resolved: dict[str, ChainReport] | None = None,
) -> HostExtras:
    """Read the extra facts (the first netns read is `inspect`'s; `wait` spaces the second
    one from it so that counters can move)."""
    ex = HostExtras()
    ex.loops = read_loops(files, ex.errors)
    ex.files = stat_files(files, device_files)
    ex.cgroups = find_kata_cgroups(files, cgroup_root)
    ex.host_chains = host_chains(files, ex.errors, resolved)
    if netns_paths and wait is not None:
        wait()
    for netns in sorted(set(netns_paths)):
        ex.netns_again[netns] = network.inspect(netns)
    return ex
