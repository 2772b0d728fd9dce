"""Rich `Text` labels for chain hops, shared by `kata-console chains` and the console's tree.

Both views must say the same thing about a hop (an operator compares a terminal paste with
the console), so the wording and colours live here once. Rich only: no textual import.
"""

from __future__ import annotations

from rich.text import Text

from kata_console.engine.mounts.chainmodel import (
    BAD_STATUSES,
    OK,
    Chain,
    DeviceHop,
    ErofsMount,
    Layer,
)

_STATUS_STYLE = {OK: "green", "relative": "yellow", "unresolvable": "yellow"}
#: the badge of a hop the host resolves but Kata refuses (its `kata:` line says why)
REFUSED = "refused"
#: the badge of an overlay the host does not mount (a Kata host never does: the guest does)
UNMOUNTED = "not mounted on the host"


def status_text(status: str) -> Text:
    """`[ok]` in green, `[deleted]` and `[refused]` in bold red, `[not mounted on the
    host]` in yellow ..."""
    bad = status in BAD_STATUSES or status == REFUSED
    style = _STATUS_STYLE.get(status, "bold red" if bad else "yellow")
    return Text(f"[{status}]", style=style)


def layer_status(layer: Layer) -> str:
    """A layer's badge: its host status, unless that is fine and Kata refuses it anyway
    (one badge must not say `[ok]` over a `kata: unsupported ...` line)."""
    return REFUSED if layer.status == OK and layer.kata_error else layer.status


def overlay_status(chain: Chain) -> str:
    """The overlay's badge: the worst the host found, else Kata's refusal, else whether
    the host mounts it at all; `[ok]` only for a mounted overlay Kata accepts."""
    if chain.status != OK:
        return chain.status
    if chain.erofs and chain.kata_verdict:
        return REFUSED
    if chain.mount_id is not None and chain.mount_id < 0:
        return UNMOUNTED
    return OK


def verdict_text(chain: Chain) -> Text:
    """Kata's verdict line: accepted, or the exact error Kata would fail with."""
    text = Text("kata: ", style="bold")
    if not chain.erofs:
        text.append("not an EROFS rootfs: shared with the guest as a directory", style="dim")
    elif chain.kata_verdict:
        text.append(chain.kata_verdict, style="bold red")
    else:
        text.append("accepted (every lower resolves to layer.erofs)", style="green")
    return text


def overlay_label(chain: Chain, *, badge_first: bool = False) -> Text:
    """`badge_first`: the badge before the mountpoint (a tree that does not wrap keeps the
    verdict in sight however long the path is); the CLI keeps it after."""
    head = Text("overlay ", style="bold")
    status = overlay_status(chain)
    if badge_first:
        head.append_text(status_text(status))
        head.append(" ")
    head.append(chain.target, style="bold cyan")
    if chain.mount_id is None:
        head.append("  (no mount id: /proc/mounts has none) ")
    elif chain.mount_id < 0:
        head.append("  " if status == UNMOUNTED else f"  ({UNMOUNTED}) ")
    else:
        head.append(f"  (mount {chain.mount_id}) ")
    if not badge_first:
        head.append_text(status_text(status))
    else:
        head.rstrip()
    if chain.bundle:
        head.append(f"  bundle {chain.bundle['namespace']}/{chain.bundle['id']}", style="magenta")
    return head


def layer_label(layer: Layer, *, badge_first: bool = False) -> Text:
    label = Text(f"{layer.role} {layer.index} ", style="bold")
    if badge_first:
        label.append_text(status_text(layer_status(layer)))
        label.append(" ")
    label.append(layer.path)
    if not badge_first:
        label.append(" ")
        label.append_text(status_text(layer_status(layer)))
    if layer.snapshot:
        label.append(f"  snapshot {layer.snapshot.id} ({layer.snapshot.role})", style="magenta")
    if layer.activation:
        a = layer.activation
        label.append(f"  activation t/{a['id']}/{a['n']} {a.get('type') or ''}", style="magenta")
    if layer.base:
        label.append(f"  (relative to {layer.base})", style="dim")
    return label


def majmin_text(majmin: str | None) -> str:
    """MAJ:MIN, or why there is none (/proc/mounts has no MAJ:MIN column)."""
    return majmin if majmin is not None else "no MAJ:MIN in /proc/mounts"


def mount_label(layer: Layer) -> Text:
    """The mount a layer path resolved to (`erofs /dev/loop0 (7:0)`), or for a lower of a
    plain overlay the filesystem its directory lives on."""
    if layer.directory:
        label = Text("directory ", style="bold")
        label.append(f"on {layer.fstype} {layer.source} ({majmin_text(layer.majmin)})")
        if layer.subpath:
            label.append(f"  sub-path {layer.subpath}", style="dim")
        return label
    label = Text(f"{layer.fstype} ", style="bold")
    label.append(f"{layer.source} ({majmin_text(layer.majmin)})")
    return label


def erofs_label(em: ErofsMount, *, badge_first: bool = False) -> Text:
    label = Text()
    if badge_first:
        label.append_text(status_text(em.status))
        label.append(" ")
    label.append(em.target, style="cyan")
    label.append(f"  erofs {em.source} ({majmin_text(em.majmin)})")
    if not badge_first:
        label.append(" ")
        label.append_text(status_text(em.status))
    if em.snapshot:
        label.append(f"  snapshot {em.snapshot.id} ({em.snapshot.role})", style="magenta")
    return label


def hop_label(hop: DeviceHop) -> Text:
    """A device hop: kind, node, MAJ:MIN and the loop flags that matter to an operator."""
    label = Text(f"{hop.kind} ", style="bold")
    label.append(f"/dev/{hop.name}" if hop.name and hop.kind != "file" else "file-backed")
    extras = [x for x in (hop.majmin, f"offset={hop.offset}" if hop.offset else None) if x]
    if hop.autoclear is not None:
        extras.append(f"autoclear={int(hop.autoclear)}")
    if hop.ro is not None:
        extras.append("ro" if hop.ro else "rw")
    if hop.dm_name:
        extras.append(f"dm={hop.dm_name}")
    if hop.mount:
        extras.append(f"mounted at {hop.mount}")
    if extras:
        label.append(f" ({', '.join(extras)})", style="dim")
    return label


def file_label(hop: DeviceHop, *, badge_first: bool = False) -> Text:
    """The backing file of a hop, flagged when deleted, with the inode the kernel holds."""
    label = Text("file ", style="bold")
    if badge_first:
        label.append_text(status_text(hop.status))
        label.append(" ")
    label.append(hop.backing_file or "", style="cyan")
    if hop.deleted:
        label.append(" (deleted)", style="bold red")
    if hop.symlink_target:
        label.append(f" -> {hop.symlink_target}", style="dim")
    if hop.inode is not None:
        label.append(f"  ino {hop.inode} on {hop.backing_majmin}", style="dim")
    if not badge_first:
        label.append(" ")
        label.append_text(status_text(hop.status))
    return label


def reason_text(hop: DeviceHop) -> Text | None:
    """The reason line under a hop, or None when the hop is fine."""
    if not hop.reason:
        return None
    if hop.backing_file:
        return Text(hop.reason, style="italic red" if hop.status in BAD_STATUSES else "italic")
    return Text(f"{hop.status}: {hop.reason}", style="italic red")
