"""Go-compatible persistence: `<root>/<sid>/persist.json` and `<root>/<sid>/<cid>/persist.json`.

What goes into the files is Go's `json.Marshal` of Kata's persistapi structs
(`persist.gojson`, `persist.api`), so Go tools (`kata-monitor`, the shim's
`CleanupContainer`) read what we write and we read what they wrote. This module is the
directory and the writes, with two deliberate improvements over Go:

* writes are atomic: a temp file in the same directory, fsync, then `os.replace`; a reader
  (or a crash) sees the old file or the new one, never a truncated one (Go truncates in
  place);
* a failed save never removes the sandbox directory (Go's deferred `Destroy` rm -rf's it,
  shim socket included);
* only files whose content changed are rewritten (the caller says which), and a removed
  container's directory is removed when it goes, instead of listing the sandbox directory
  on every save.

Sandbox and container IDs are validated before any path is built from them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from kata_console.engine.errors import EngineError
from kata_console.engine.ids import (  # noqa: F401 (validate_id's home was here)
    ID_PATTERN,
    MAX_ID_LENGTH,
    InvalidIdError,
    validate_id,
)

#: where a Go runtime keeps its sandboxes (the live default)
LIVE_ROOT = "/run/vc/sbs"
PERSIST_FILE = "persist.json"
#: a persist.json larger than this is not Kata's (a 1,000-container sandbox is ~1 MiB)
MAX_PERSIST_BYTES = 64 << 20


class PersistError(EngineError):
    """A persist file could not be written or read; the text names the file."""


# ------------------------------------------------------------------------- atomic writes
_tmp_counter = itertools.count()


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | Sequence[bytes],
    *,
    mode: int = 0o600,
    fsync: bool = True,
) -> None:
    """Write `data` (bytes, or chunks written in order) to `path` so that readers see the
    old or the new content, never a mix.

    A temp file in the same directory (same filesystem, so `os.replace` is a rename),
    created exclusively with the final mode, fsync'ed, then renamed over the target.
    Chunks let a large document go to the kernel without being joined first.
    """
    chunks = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
    path = os.fspath(path)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{next(_tmp_counter)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        _write_all(fd, chunks)
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


_IOV_MAX = 1024


def _write_all(fd: int, chunks: Sequence[bytes | memoryview]) -> None:
    """writev in batches the kernel accepts (one call per batch), finishing a short write
    chunk by chunk."""
    for start in range(0, len(chunks), _IOV_MAX):
        batch = chunks[start : start + _IOV_MAX]
        done = os.writev(fd, batch)
        if done == sum(map(len, batch)):
            continue
        for chunk in batch:
            if done >= len(chunk):
                done -= len(chunk)
                continue
            view, done = memoryview(chunk)[done:], 0
            while view:
                view = view[os.write(fd, view) :]


class PersistStore:
    """The state directory (`/run/vc/sbs` live; a private directory for demos and tests)."""

    def __init__(self, root: str | os.PathLike[str] = LIVE_ROOT, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._root = os.fspath(root)
        self._made: set[str] = set()
        self._dirs: dict[tuple[tuple[str, str], ...], str] = {}
        self._files: dict[str, str] = {}

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

    def _write(self, directory: str, doc: str | Sequence[bytes]) -> str:
        """Like Go's `mkdir -p` + write, with the mkdir skipped while the directory is known
        to exist; if someone removed it meanwhile, it is made again and the write retried.
        `doc` is the encoded document as text (the Encoder's newline is added here) or as
        byte chunks that already end with it."""
        path = self._files.get(directory)
        if path is None:
            path = self._files[directory] = os.path.join(directory, PERSIST_FILE)
        data = (doc.encode(), b"\n") if isinstance(doc, str) else doc
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

    def write_sandbox(self, sandbox_id: str, doc: str | Sequence[bytes]) -> str:
        return self._write(self._dir(("sandbox", sandbox_id)), doc)

    def write_container(
        self, sandbox_id: str, container_id: str, doc: str | Sequence[bytes]
    ) -> str:
        return self._write(self._dir(("sandbox", sandbox_id), ("container", container_id)), doc)

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

    def read_bytes(self, sandbox_id: str) -> tuple[bytes, dict[str, bytes]]:
        """Go `FromDisk`'s reads: the sandbox file and every `<cid>/persist.json` (missing
        ones skipped), as bytes for the caller to decode as Go does."""
        directory = self.sandbox_dir(sandbox_id)
        sandbox = read_file(directory / PERSIST_FILE)
        containers: dict[str, bytes] = {}
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise PersistError(f"{directory}: {exc.strerror}") from exc
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or not ID_PATTERN.fullmatch(entry.name):
                continue
            path = Path(entry.path) / PERSIST_FILE
            if path.is_file():
                containers[entry.name] = read_file(path)
        return sandbox, containers


def read_file(path: Path) -> bytes:
    """A persist file's bytes; one-line errors naming the file (missing, not a regular
    file, unreadable, implausibly large). Opened without following a final symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise PersistError(f"{path}: no such file") from None
    except OSError as exc:
        raise PersistError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PersistError(f"{path}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_PERSIST_BYTES + 1)
    except OSError as exc:
        raise PersistError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_PERSIST_BYTES:
        raise PersistError(f"{path}: larger than {MAX_PERSIST_BYTES >> 20} MiB")
    return data
