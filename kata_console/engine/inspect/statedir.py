"""Kata's state directories on a host, read as Kata's Go runtime reads them.

Go runtime: `<vc-root>/sbs/<id>/persist.json` and `<id>/<cid>/persist.json`, decoded into the
persistapi structs exactly as Go's `json.Decoder` would (a wrong type anywhere fails that
file, with Go's text). Rust runtime (runtime-rs): `/run/kata/<id>/`, whose state format this
console does not model: what is there is listed, no field is guessed.

Every file stands alone: a torn, unreadable or foreign file marks its sandbox or container
with `<file>: <reason>` and every other sandbox still shows. Names that are not valid
sandbox or container IDs are never turned into paths below the root.
"""

from __future__ import annotations

import stat as _stat
from dataclasses import dataclass, field
from typing import Any

from kata_console.engine.ids import InvalidIdError, validate_id
from kata_console.engine.persist import api
from kata_console.engine.persist.gojson import GoJSONError, decode
from kata_console.engine.ports import StateFiles

VC_ROOT = "/run/vc"
KATA_ROOT = "/run/kata"
PERSIST_FILE = "persist.json"
SHIM_SOCKET = "shim-monitor.sock"


class StateRootMissing(Exception):
    """The state root itself is not there (a machine without Kata, or a typo in --vc-root)."""


@dataclass(slots=True)
class StateDir:
    """One sandbox's state directory and what could be read of it."""

    sandbox_id: str
    runtime: str  # "go" (virtcontainers) or "rust" (runtime-rs)
    path: str
    doc: dict[str, Any] | None = None
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def shim_socket(self) -> str:
        return f"{self.path}/{SHIM_SOCKET}"


def _errno_text(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _decode(files: StateFiles, path: str, schema: Any, errors: list[str]) -> dict[str, Any] | None:
    try:
        data = files.read_bytes(path)
    except OSError as exc:
        errors.append(f"{path}: {_errno_text(exc)}")
        return None
    if not data.strip():
        errors.append(f"{path}: empty (a save was interrupted, or the shim is writing it)")
        return None
    try:
        return decode(schema, data)  # type: ignore[no-any-return]
    except GoJSONError as exc:
        errors.append(f"{path}: {exc}")
    except UnicodeDecodeError as exc:
        errors.append(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
    return None


def _is_link(files: StateFiles, path: str) -> bool:
    try:
        return _stat.S_ISLNK(files.lstat(path).mode)
    except OSError:
        return False


def _is_dir(files: StateFiles, path: str) -> bool:
    try:
        return _stat.S_ISDIR(files.lstat(path).mode)
    except OSError:
        return False


def _listed(files: StateFiles, root: str, sandbox_id: str, runtime: str) -> StateDir:
    """The sandbox's directory and its entries (or why they could not be listed)."""
    sd = StateDir(sandbox_id, runtime, f"{root}/{sandbox_id}")
    try:
        sd.entries = sorted(files.listdir(sd.path))
    except OSError as exc:
        sd.errors.append(f"{sd.path}: {_errno_text(exc)}")
    return sd


def read_go_sandbox(files: StateFiles, root: str, sandbox_id: str) -> StateDir:
    """Go `FromDisk` for one sandbox: its file and every `<cid>/persist.json`."""
    sd = _listed(files, root, sandbox_id, "go")
    if sd.errors:
        return sd
    if PERSIST_FILE in sd.entries:
        sd.doc = _decode(files, f"{sd.path}/{PERSIST_FILE}", api.SANDBOX_STATE, sd.errors)
    else:
        sd.errors.append(f"{sd.path}/{PERSIST_FILE}: missing")
    for name in sd.entries:
        sub = f"{sd.path}/{name}"
        if name == PERSIST_FILE or not _is_dir(files, sub):
            continue
        try:
            validate_id("container", name)
        except InvalidIdError:
            continue  # not a container directory (Go would not have written it)
        try:
            if PERSIST_FILE not in files.listdir(sub):
                continue  # Go's FromDisk skips a container without its file
        except OSError as exc:
            sd.errors.append(f"{sub}: {_errno_text(exc)}")
            continue
        doc = _decode(files, f"{sub}/{PERSIST_FILE}", api.CONTAINER_STATE, sd.errors)
        if doc is not None:
            sd.containers[name] = doc
    return sd


def read_rust_sandbox(files: StateFiles, root: str, sandbox_id: str) -> StateDir:
    """runtime-rs keeps `/run/kata/<id>/`; its files are listed, not interpreted."""
    return _listed(files, root, sandbox_id, "rust")


def _sandbox_names(files: StateFiles, root: str, warnings: list[str]) -> list[str]:
    try:
        names = sorted(files.listdir(root))
    except FileNotFoundError:
        return []
    except OSError as exc:
        warnings.append(f"{root}: {_errno_text(exc)}")
        return []
    out = []
    for name in names:
        if not _is_dir(files, f"{root}/{name}"):
            if _is_link(files, f"{root}/{name}"):
                warnings.append(f"{root}/{name}: skipped: a symlink, not a sandbox directory")
            continue
        try:
            validate_id("sandbox", name)
        except InvalidIdError:
            warnings.append(f"{root}/{name}: skipped: not a sandbox ID")
            continue
        out.append(name)
    return out


def read_state_dirs(
    files: StateFiles, vc_root: str = VC_ROOT, kata_root: str = KATA_ROOT
) -> tuple[list[StateDir], list[str]]:
    """Every sandbox under `<vc_root>/sbs` (Go) and `<kata_root>` (Rust), and warnings about
    the roots themselves. `StateRootMissing` when `vc_root` does not exist at all."""
    warnings: list[str] = []
    roots = 0
    for root in (vc_root, kata_root):
        try:
            files.listdir(root)
            roots += 1
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            raise StateRootMissing(f"{root}: not a directory") from None
        except OSError as exc:
            roots += 1
            warnings.append(f"{root}: {_errno_text(exc)}")
    if roots == 0:  # neither the Go runtime's root nor runtime-rs's: no Kata here
        raise StateRootMissing(f"{vc_root}: no such directory (nor {kata_root})")
    sbs = f"{vc_root}/sbs"
    dirs = [read_go_sandbox(files, sbs, sid) for sid in _sandbox_names(files, sbs, warnings)]
    seen = {d.sandbox_id for d in dirs}
    for sid in _sandbox_names(files, kata_root, warnings):
        if sid not in seen:
            dirs.append(read_rust_sandbox(files, kata_root, sid))
    return dirs, warnings
