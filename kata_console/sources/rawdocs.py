"""The raw document behind a sandbox, container or device: what the describe view shows.

On a host (live or recorded) it is the persist.json as read from the state directory,
byte for byte (invalid UTF-8 as U+FFFD, the way Go's decoder reads it); on an engine
source (the demo, a plan) the persist.json the engine wrote, when it wrote one; a device is
its `Devices[]` entry of the sandbox's file. Where no file exists (a container Kata
refused, a fixture) the document is what the console holds, and says so. No textual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kata_console.exports import container_dict, device_dict, sandbox_dict
from kata_console.sources.model import SandboxView

#: ("sandbox", sb) | ("container", sb, c) | ("device", sb, device id)
Target = tuple[str, ...]
PERSIST = "persist.json"
#: the origin of a document of a resource that is gone (nothing was read)
GONE = "nothing left to read"


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A document to show: `raw` exactly as read, `pretty` indented (None: not JSON)."""

    title: str
    origin: str
    raw: str
    pretty: str | None
    note: str = ""


def from_bytes(title: str, path: str, data: bytes) -> RawDocument:
    """A file's bytes as the describe view shows them; the first JSON value is indented
    (Go's Decoder reads only that one), a file that is no JSON is shown as it is."""
    raw = data.decode("utf-8", "replace")
    origin = f"{path}, as read ({len(data)} bytes)"
    try:
        doc, _ = json.JSONDecoder().raw_decode(raw.lstrip())
    except ValueError as exc:
        return RawDocument(title, origin, raw, None, f"not JSON: {exc}")
    return RawDocument(title, origin, raw, _indent(doc))


def held(title: str, data: Any, why: str) -> RawDocument:
    """What the console holds about a resource that has no file (`why` says so)."""
    text = _indent(data)
    return RawDocument(title, f"console state ({why})", text, text)


def title_of(target: Target) -> str:
    kind = target[0]
    if kind == "container":
        return f"container {target[1]}/{target[2]}"
    if kind == "device":
        return f"device {target[2]} of {target[1]}"
    return f"sandbox {target[1]}"


def gone(target: Target) -> RawDocument:
    """Nothing to show: the resource is gone (deleted, or never there), and no file or
    state of it is left. Said as it is, not as a document."""
    title = title_of(target)
    return RawDocument(title, GONE, "", None, f"{title} is gone")


def view_document(target: Target, sandboxes: list[SandboxView], why: str) -> RawDocument:
    """The console's own picture of `target` (sources that keep no persist.json)."""
    title = title_of(target)
    sb = next((s for s in sandboxes if s.id == target[1]), None)
    if sb is None:
        return gone(target)
    if target[0] == "container":
        c = sb.container(target[2])
        return held(title, container_dict(c), why) if c else gone(target)
    if target[0] == "device":
        d = next((d for d in sb.devices if d.id == target[2]), None)
        return held(title, device_dict(d), why) if d else gone(target)
    return held(title, sandbox_dict(sb), why)


def state_document(
    target: Target,
    sandbox_dir: str,
    read: Callable[[str], bytes],
    fallback: Callable[[], RawDocument],
) -> RawDocument:
    """The persist.json of `target` under `sandbox_dir` (a device: its entry in the
    sandbox's file), read with `read`; `fallback` when the file is not there."""
    title = title_of(target)
    if target[0] == "container":
        path = f"{sandbox_dir}/{target[2]}/{PERSIST}"
    else:
        path = f"{sandbox_dir}/{PERSIST}"
    try:
        data = read(path)
    except FileNotFoundError:
        return fallback()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        return RawDocument(title, path, "", None, f"cannot read: {reason}")
    doc = from_bytes(title, path, data)
    if target[0] != "device":
        return doc
    return _device_entry(doc, target[2], path)


def _device_entry(doc: RawDocument, device_id: str, path: str) -> RawDocument:
    if doc.pretty is None:
        return RawDocument(doc.title, doc.origin, doc.raw, None, doc.note)
    entries = json.loads(doc.pretty).get("Devices") or []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and entry.get("ID") == device_id:
            text = _indent(entry)
            return RawDocument(doc.title, f"{path}, Devices[{i}]", text, text)
    note = f"no device {device_id} in Devices"
    return RawDocument(doc.title, doc.origin, doc.raw, doc.pretty, note)


def read_file(path: str) -> bytes:
    """A local state file (the engine's own store)."""
    return Path(path).read_bytes()


def _indent(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
