"""Go-compatible persistence: `<root>/<sid>/persist.json` and `<root>/<sid>/<cid>/persist.json`.

Field names and encodings are Go's (`persistapi`, kata-engine.md §4.3), so Go tools
(`kata-monitor`, the shim's `CleanupContainer`) can read what we write and we can read
what they wrote. Deliberate improvements over Go, each deliberate:

* writes are atomic: a temp file in the same directory, fsync, then `os.replace`; a reader
  (or a crash) sees the old file or the new one, never a truncated one (Go truncates in
  place);
* a failed save never removes the sandbox directory (Go's deferred `Destroy` rm -rf's it,
  shim socket included);
* a PCI path is saved as its string (`"02/01"`); Go writes `{}` and loses it. The loader
  accepts both;
* only files whose content changed since the last save are rewritten (the caller says
  which), and a removed container's directory is removed when it goes, instead of listing
  the sandbox directory on every save.

Sandbox and container IDs are validated before any path is built from them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import itertools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from kata_console.engine.errors import EngineError
from kata_console.engine.ids import (  # noqa: F401 (validate_id's home was here)
    ID_PATTERN,
    MAX_ID_LENGTH,
    InvalidIdError,
    validate_id,
)
from kata_console.engine.jsonfile import load_json

#: where a Go runtime keeps its sandboxes (the live default)
LIVE_ROOT = "/run/vc/sbs"
PERSIST_FILE = "persist.json"
CUR_PERSIST_VERSION = 2

GO_ZERO_TIME = "0001-01-01T00:00:00Z"


class PersistError(EngineError):
    """A persist file could not be written or read; the text names the file."""


# ------------------------------------------------------------------------- Go encodings
_HTML = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_escape(text: str) -> str:
    """Go's encoding/json HTML-safe escaping, applied to already-encoded JSON text."""
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        return text.translate(_HTML)
    return text


def go_json(obj: Any) -> str:
    """`json.Marshal`: compact, keys in insertion (struct) order, UTF-8, HTML-escaped."""
    return go_escape(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


@functools.lru_cache(maxsize=4096)
def go_time(value: _dt.datetime | None) -> str:
    """Go's RFC3339Nano: trailing fractional zeros trimmed, `Z` for UTC."""
    if value is None:
        return GO_ZERO_TIME
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    offset = value.utcoffset()
    if offset is None or offset == _dt.timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_go_time(text: str) -> _dt.datetime | None:
    """Inverse of `go_time`; nanoseconds are cut to microseconds. Zero time -> None."""
    if not text or text == GO_ZERO_TIME:
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        raise ValueError(f"not an RFC3339 time: {text!r}")
    frac = (m.group(2) or "").ljust(6, "0")[:6]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return _dt.datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}")


# ------------------------------------------------------------------------- atomic writes
_tmp_counter = itertools.count()


def atomic_write(
    path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600, fsync: bool = True
) -> None:
    """Write `data` to `path` so that readers see the old or the new content, never a mix.

    A temp file in the same directory (same filesystem, so `os.replace` is a rename),
    created exclusively with the final mode, fsync'ed, then renamed over the target.
    """
    path = os.fspath(path)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{next(_tmp_counter)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class PersistStore:
    """The state directory (`/run/vc/sbs` live; a private directory for demos and tests)."""

    def __init__(self, root: str | os.PathLike[str] = LIVE_ROOT, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._root = os.fspath(root)
        self._made: set[str] = set()
        self._dirs: dict[tuple[tuple[str, str], ...], str] = {}

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.root / validate_id("sandbox", sandbox_id)

    def has_sandbox(self, sandbox_id: str) -> bool:
        """Something already lives at the sandbox's directory (a sandbox, a shim socket)."""
        return os.path.lexists(self.sandbox_dir(sandbox_id))

    def container_dir(self, sandbox_id: str, container_id: str) -> Path:
        return self.sandbox_dir(sandbox_id) / validate_id("container", container_id)

    def _dir(self, *ids: tuple[str, str]) -> str:
        path = self._dirs.get(ids)
        if path is None:
            path = os.path.join(self._root, *(validate_id(kind, value) for kind, value in ids))
            if len(self._dirs) < 100_000:
                self._dirs[ids] = path
        return path

    def _mkdir(self, path: str) -> None:
        if path in self._made:
            return
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise PersistError(f"{path}: cannot create directory: {exc.strerror}") from exc
        self._made.add(path)

    def _forget(self, directory: str) -> None:
        prefix = directory + os.sep
        self._made = {p for p in self._made if p != directory and not p.startswith(prefix)}

    def _write(self, directory: str, text: str) -> str:
        """Like Go's `mkdir -p` + write, with the mkdir skipped while the directory is known
        to exist; if someone removed it meanwhile, it is made again and the write retried."""
        path = os.path.join(directory, PERSIST_FILE)
        data = (text + "\n").encode()
        self._mkdir(directory)
        try:
            try:
                atomic_write(path, data, fsync=self.fsync)
            except FileNotFoundError:
                self._forget(directory)
                self._mkdir(directory)
                atomic_write(path, data, fsync=self.fsync)
        except OSError as exc:
            self._forget(directory)
            raise PersistError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        return path

    def write_sandbox(self, sandbox_id: str, text: str) -> str:
        """`text` is the encoded document (Go's Encoder adds the trailing newline)."""
        return self._write(self._dir(("sandbox", sandbox_id)), text)

    def write_container(self, sandbox_id: str, container_id: str, text: str) -> str:
        return self._write(self._dir(("sandbox", sandbox_id), ("container", container_id)), text)

    def remove_container(self, sandbox_id: str, container_id: str) -> None:
        """Go removes the directory of a container that left the sandbox on the next save."""
        directory = self._dir(("sandbox", sandbox_id), ("container", container_id))
        self._forget(directory)
        shutil.rmtree(directory, ignore_errors=True)

    def destroy(self, sandbox_id: str) -> None:
        """Go `store.Destroy` (Sandbox.Delete only; never on a save error)."""
        directory = self._dir(("sandbox", sandbox_id))
        self._forget(directory)
        shutil.rmtree(directory, ignore_errors=True)

    def sandbox_ids(self) -> list[str]:
        """Sandboxes with a persist.json under the root (invalid names are skipped)."""
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return []
        return [
            n for n in names if ID_PATTERN.fullmatch(n) and (self.root / n / PERSIST_FILE).is_file()
        ]

    def read(self, sandbox_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Go `FromDisk`: the sandbox document and every `<cid>/persist.json` (missing ones
        skipped). Corrupt JSON raises `PersistError` naming the file."""
        directory = self.sandbox_dir(sandbox_id)
        sandbox = read_json(directory / PERSIST_FILE)
        containers: dict[str, dict[str, Any]] = {}
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise PersistError(f"{directory}: {exc.strerror}") from exc
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or not ID_PATTERN.fullmatch(entry.name):
                continue
            path = Path(entry.path) / PERSIST_FILE
            if path.is_file():
                containers[entry.name] = read_json(path)
        return sandbox, containers


def read_json(path: Path) -> dict[str, Any]:
    doc = load_json(path, PersistError, missing="no such file", invalid="corrupt JSON")
    if not isinstance(doc, dict):
        raise PersistError(f"{path}: corrupt JSON: expected an object, got {type(doc).__name__}")
    return doc
