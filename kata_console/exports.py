"""What the console exports and describes, as plain JSON data, no textual.

Export writes the JSON the CLI prints for the same thing, so a file saved from a screen and
`kata-console ... --json` can be diffed: on a host source the sandboxes screen is
`inspect --json` and the sandbox screen its `sandboxes[]` entry; the chains screen is
`chains --json` and a container's chain its `chains[]` entry. Sources without an
inspection (the demo, a plan, a fixture) export the console's picture in the same shape
where one exists (devices as `play --json` has them, chains as `chains --json`).

Files are written whole or not at all (a temporary file renamed into place), never over
an existing file unless the user confirmed it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kata_console.sources.model import ContainerView, DeviceView, SandboxView


class ExportError(Exception):
    """The file could not be written (one line naming the file and why)."""


class FileExists(ExportError):
    """The file is there already and overwriting was not confirmed."""


def device_dict(d: DeviceView) -> dict[str, Any]:
    """`play --json`'s device row (plus `host_side` when the source inspects a host)."""
    out: dict[str, Any] = {
        "id": d.id,
        "host_path": d.host_path,
        "kind": d.kind,
        "refcount": d.refcount,
        "attach_count": d.attach_count,
        "index": d.index,
        "address": d.address,
        "read_only": d.read_only,
    }
    if d.host_side is not None:
        out["host_side"] = d.host_side
    return out


def container_dict(c: ContainerView) -> dict[str, Any]:
    """A container as the console holds it; `chain` is `chains --json`'s chain."""
    return {
        "id": c.id,
        "sandbox": c.sandbox_id,
        "state": c.state,
        "rootfs_kind": c.rootfs_kind,
        "layers": c.layers,
        "pid": c.pid,
        "devices": list(c.devices),
        "kata_error": c.kata_error,
        "chain": c.chain.to_dict() if c.chain is not None else None,
    }


def sandbox_dict(sb: SandboxView) -> dict[str, Any]:
    """A sandbox as the console holds it (the inspect shape's names where they exist)."""
    return {
        "id": sb.id,
        "state": sb.state,
        "hypervisor": sb.hypervisor,
        "agent_health": sb.agent_health,
        "created": sb.created.isoformat() if sb.created is not None else None,
        "facts": {k: v for k, v in sb.facts},
        "containers": [container_dict(c) for c in sb.containers],
        "devices": [device_dict(d) for d in sb.devices],
        "processes": [p.to_dict() for p in sb.processes],
        "network": sb.network.to_dict() if sb.network is not None else None,
        "shim": sb.shim.to_dict() if sb.shim is not None else None,
        "errors": list(sb.errors),
    }


def to_json(data: Any) -> str:
    """The CLI's JSON text (`print_json(..., indent=2)`): UTF-8, non-ASCII kept."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def default_path(what: str, now: _dt.datetime, directory: str | None = None) -> str:
    """`<dir>/kata-console-<what>-<UTC time>.json`; `dir` is the working directory (it
    exists and is where the console was started; a root shell often has no Downloads)."""
    stamp = now.astimezone(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in what)[:80]
    return os.path.join(directory or os.getcwd(), f"kata-console-{safe}-{stamp}.json")


def write_export(path: str, text: str, *, overwrite: bool = False) -> str:
    """Write `text` to `path` (`~` expanded, relative to the working directory); returns
    the absolute path. `FileExists` unless `overwrite`; `ExportError` for the rest."""
    if not path.strip():
        raise ExportError("no file name given")
    target = Path(os.path.expanduser(path.strip()))
    target = target if target.is_absolute() else Path.cwd() / target
    if target.is_dir():
        raise ExportError(f"{target}: is a directory")
    if target.exists() and not overwrite:
        raise FileExists(f"{target} exists")
    parent = target.parent
    if not parent.is_dir():
        raise ExportError(f"{parent}: no such directory")
    data = text.encode("utf-8", "backslashreplace")  # lone surrogates: as print_json does
    try:
        if overwrite:  # a whole new file renamed over the old one
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:  # exclusive create: a file that appeared meanwhile is never clobbered
            with open(target, "xb") as fh:
                try:
                    fh.write(data)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(target)
                    raise
    except FileExistsError:
        raise FileExists(f"{target} exists") from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ExportError(f"{target}: cannot write: {reason}") from None
    return str(target)
