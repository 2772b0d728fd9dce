"""Relative lowerdirs: the directory the mounter had changed into, or an honest "unknown".

containerd mounts an overlay whose options reach `pagesize - 512` bytes (many layers) from
a thread that `chdir`s into the layers' common parent: `compactLowerdirOption` in
core/mount/mount_linux.go takes `path.Dir(longestCommonPrefix(lowerdirs))` and strips it,
so `/proc` shows `lowerdir=1286/fs:1285/fs:...` (2.1: parent `<root>/snapshots`) or
`lowerdir=64:63:...:01` (2.2+ mount-manager activation `t/<mid>`); upperdir and workdir
stay absolute. The kernel resolved those names against a working directory nobody
records, so a base is accepted only when the table proves it:

* two levels above an absolute upperdir is the parent containerd used for 2.1 (upper
  `<root>/snapshots/<id>/fs`, layers `<id>/fs`; the overlayfs snapshotter looks the same)
  and for 2.2+ block mode (upper `t/<mid>/<n>/upper`, layers `<n>`): with those shapes the
  common prefix of the layers cannot end anywhere else, so the base is certain and a layer
  not mounted there is reported as such;
* otherwise the one directory under which every layer name is an erofs mount (2.2+
  non-block mode: upper in `snapshots/<id>/fs`, layers in some `t/<mid>`), when exactly one
  such directory exists; two activations holding the same names are ambiguous;
* for an overlay of ordinary directories (docker, the overlayfs snapshotter) or a chain
  with some layers unmounted, the upper's parent when every layer exists there.

Anything else stays `relative`, with every base tried and how many layers it holds.
"""

from __future__ import annotations

import posixpath
import stat as _stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from kata_console.engine.mounts.containerd import is_activation_upper, is_snapshot_upper
from kata_console.engine.mounts.mounttable import Mount, MountTable
from kata_console.engine.ports import HostView


@dataclass(slots=True)
class BaseChoice:
    """The base relative layers are resolved against (None: not known) and the evidence."""

    base: str | None
    reason: str
    tried: list[dict[str, object]] = field(default_factory=list)


def join(base: str, rel: str) -> str:
    return posixpath.normpath(posixpath.join(base, rel))


def _upper_base(upper: str | None, rels: Sequence[str]) -> tuple[str | None, bool]:
    """Two levels above the upperdir, and whether containerd's layout fixes it: a 2.1 (or
    overlayfs-snapshotter) upper with `<id>/fs` layers, or a 2.2+ block-mode upper with bare
    layer names. (None, False) when the names do not fit the upper's layout."""
    if not upper or not upper.startswith("/"):
        return None, False
    upper = posixpath.normpath(upper)
    base = posixpath.dirname(posixpath.dirname(upper))
    if is_snapshot_upper(upper):
        if all(r.count("/") == 1 and r.endswith("/fs") for r in rels):
            return base, True
        return None, False  # e.g. 2.2 non-block: layer names of an activation, not snapshots
    if is_activation_upper(upper):
        return (base, True) if not any("/" in r for r in rels) else (None, False)
    return base, False


def _table_bases(rel: str, erofs: Sequence[Mount]) -> list[str]:
    """Directories under which `rel` is an erofs mount, in table order."""
    suffix = "/" + posixpath.normpath(rel)
    seen: dict[str, None] = {}
    for m in erofs:
        if m.mountpoint.endswith(suffix):
            seen.setdefault(m.mountpoint[: -len(suffix)] or "/", None)
    return list(seen)


def choose_base(
    table: MountTable,
    host: HostView,
    rels: Sequence[str],
    upper: str | None,
    erofs: Sequence[Mount],
) -> BaseChoice:
    """Pick the base for the relative layers `rels` of one overlay (see the module doc)."""
    n = len(rels)
    from_upper, fixed = _upper_base(upper, rels)
    if from_upper and fixed:  # containerd's layout leaves no other choice
        held = sum(table.at(join(from_upper, r)) is not None for r in rels)
        return BaseChoice(
            from_upper,
            "the snapshots' common parent containerd mounts from (two above the upperdir)",
            [{"base": from_upper, "mounted": held, "layers": n}],
        )
    candidates = [from_upper] if from_upper else []
    candidates += [b for b in _table_bases(rels[0], erofs) if b not in candidates]
    mounted = {b: sum(table.at(join(b, r)) is not None for r in rels) for b in candidates}
    tried: list[dict[str, object]] = [
        {"base": b, "mounted": mounted[b], "layers": n} for b in candidates
    ]
    full = [b for b in candidates if mounted[b] == n]
    if len(full) == 1:
        return BaseChoice(
            full[0], "the only directory where every relative layer is mounted", tried
        )
    if len(full) > 1:
        return BaseChoice(
            None,
            f"ambiguous: every relative layer is mounted under each of {len(full)} directories "
            "and the table does not say which one the overlay was mounted from",
            tried,
        )
    if from_upper and all(_is_dir(host, join(from_upper, r)) for r in rels):
        return BaseChoice(
            from_upper, "the upper's parent, where every relative layer exists", tried
        )
    return BaseChoice(
        None,
        "relative lowerdir: the directory it was mounted from is not recorded and no candidate "
        "holds every layer",
        tried,
    )


def _is_dir(host: HostView, path: str) -> bool:
    try:
        return _stat.S_ISDIR(host.stat(path).mode)
    except OSError:
        return False
