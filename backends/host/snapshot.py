"""`HostView` answered from a recorded snapshot (fixtures, demo, bug reports, benchmarks).

A snapshot is the log of every question a resolver asked a real host and its answer
(or errno), so replaying it reproduces the exact picture without the host:

    {"format": "kata-console-host/1", "description": "...",
     "mountinfo": {"self": "<text>", "<pid>": "<text>" | {"same_as": "self"}},
     "calls": {"read_text": {path: text | {"errno": n}}, "realpath": {...},
               "listdir": {...}, "stat": {path: {"mode","dev","ino","rdev","size"} | {"errno": n}},
               "lstat": {...}, "statfs_type": {...}, "loop_status": {name: {...}}}}

A question the snapshot has no answer for gets ENOENT, like a path that is not there, except
that `/sys/block/<dev>/...` is answered from the device's own sysfs directory when the
recording knows it (the kernel's symlink; Kata reads loop backing files that way).
`RecordingHost` wraps a live `HostView` and produces such a snapshot.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from backends.host.snapshotcheck import SchemaError, validate_snapshot
from kata_console.engine.jsonfile import InputFileError, MissingInputFile, parse_json, read_input
from kata_console.engine.ports import FileStat, HostView, LoopStatus

FORMAT = "kata-console-host/1"
_METHODS = (
    "read_text",
    "read_bytes",
    "realpath",
    "listdir",
    "stat",
    "lstat",
    "statfs_type",
    "loop_status",
)


class SnapshotError(ValueError):
    """The file is not a usable host snapshot."""


def _fail(code: int, key: str, text: str | None = None) -> OSError:
    """The error the recorded host gave: its errno, and its own text when it had one."""
    return OSError(code, text or os.strerror(code), key)


def _errno_of(exc: OSError) -> dict[str, Any]:
    code = exc.errno or errno.EIO
    answer: dict[str, Any] = {"errno": code}
    if exc.strerror and exc.strerror != os.strerror(code):
        answer["strerror"] = exc.strerror  # a text of the backend's own ("not a regular file")
    return answer


class SnapshotHost:
    """A recorded host. Unknown questions answer ENOENT."""

    def __init__(self, data: dict[str, Any], source: str = "<snapshot>") -> None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SnapshotError(f"{source}: not a {FORMAT} host snapshot")
        self.source = source
        self.description = str(data.get("description", ""))
        self._mountinfo: dict[str, Any] = {
            str(k): v if isinstance(v, dict) else str(v)
            for k, v in (data.get("mountinfo") or {}).items()
        }
        for key, value in list(self._mountinfo.items()):
            if isinstance(value, dict) and "same_as" in value:  # one table, several pids
                self._mountinfo[key] = self._mountinfo.get(str(value["same_as"]))
        calls = data.get("calls") or {}
        self._calls: dict[str, dict[str, Any]] = {m: dict(calls.get(m) or {}) for m in _METHODS}
        #: the recorded processes, namespaces, shim sockets and host facts (inspectrec)
        self.inspect_data: dict[str, Any] | None = data.get("inspect")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SnapshotHost:
        """The recording at `path`, checked whole (`SnapshotError` naming the file and the
        field); a missing file is `FileNotFoundError`, so callers can word that their way."""
        try:
            raw = read_input(path, "host snapshot")
        except MissingInputFile:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path)) from None
        except InputFileError as exc:
            raise SnapshotError(str(exc)) from None
        data = parse_json(raw, str(path), SnapshotError, "not a JSON host snapshot")
        try:
            validate_snapshot(data, FORMAT, _METHODS)
        except SchemaError as exc:
            raise SnapshotError(f"{path}: {exc}") from None
        return cls(data, str(path))

    def read_mountinfo(self, pid: int | None = None) -> str:
        key = "self" if pid is None else str(pid)
        value = self._mountinfo.get(key)
        if value is None:
            raise _fail(errno.ENOENT, f"/proc/{key}/mountinfo")
        if isinstance(value, dict):  # recorded as the error the host gave
            raise _fail(int(value["errno"]), f"/proc/{key}/mountinfo", value.get("strerror"))
        return value

    def _answer(self, method: str, key: str) -> Any:
        value = self._calls[method].get(key)
        if value is None:
            raise _fail(errno.ENOENT, key)
        if isinstance(value, dict) and "errno" in value and set(value) <= {"errno", "strerror"}:
            raise _fail(int(value["errno"]), key, value.get("strerror"))
        return value

    def read_text(self, path: str) -> str:
        try:
            return str(self._answer("read_text", path))
        except OSError:
            alias = self._sys_block_alias(path)
            if alias is None:
                raise
            return str(self._answer("read_text", alias))

    def _sys_block_alias(self, path: str) -> str | None:
        """`/sys/block/<name>/...` is the kernel's symlink to the device's own sysfs
        directory; a recording that read the file through `/sys/dev/block/M:m` answers it."""
        if not path.startswith("/sys/block/") or path in self._calls["read_text"]:
            return None
        name, _, rest = path[len("/sys/block/") :].partition("/")
        for target in self._calls["realpath"].values():
            if isinstance(target, str) and target.rsplit("/", 1)[-1] == name:
                return f"{target}/{rest}" if rest else target
        return None

    def read_bytes(self, path: str) -> bytes:
        """Recorded as text (UTF-8, undecodable bytes kept by surrogateescape)."""
        return str(self._answer("read_bytes", path)).encode("utf-8", "surrogateescape")

    def realpath(self, path: str) -> str:
        return str(self._answer("realpath", path))

    def listdir(self, path: str) -> list[str]:
        return list(self._answer("listdir", path))

    def stat(self, path: str) -> FileStat:
        return FileStat(**self._answer("stat", path))

    def lstat(self, path: str) -> FileStat:
        if path not in self._calls["lstat"]:  # recorded only when it differs from stat
            return self.stat(path)
        return FileStat(**self._answer("lstat", path))

    def statfs_type(self, path: str) -> int:
        return int(self._answer("statfs_type", path))

    def loop_status(self, name: str) -> LoopStatus:
        return LoopStatus(**self._answer("loop_status", name))


class RecordingHost:
    """Wraps a live `HostView` and remembers every answer, to save as a snapshot."""

    def __init__(self, inner: HostView, description: str = "") -> None:
        self.inner = inner
        self.description = description
        self._mountinfo: dict[str, Any] = {}
        self._calls: dict[str, dict[str, Any]] = {m: {} for m in _METHODS}
        #: the `inspect` facts to save with the answers (see backends.host.inspectrec)
        self.inspect_data: dict[str, Any] | None = None

    def read_mountinfo(self, pid: int | None = None) -> str:
        key = "self" if pid is None else str(pid)
        try:
            text = self.inner.read_mountinfo(pid)
        except OSError as exc:
            self._mountinfo[key] = _errno_of(exc)
            raise
        self._mountinfo[key] = text
        return text

    def _record(self, method: str, key: str) -> Any:
        try:
            value = getattr(self.inner, method)(key)
        except OSError as exc:
            self._calls[method][key] = _errno_of(exc)
            raise
        self._calls[method][key] = (
            asdict(value) if isinstance(value, FileStat | LoopStatus) else value
        )
        return value

    def read_text(self, path: str) -> str:
        return self._record("read_text", path)

    def read_bytes(self, path: str) -> bytes:
        try:
            data: bytes = self.inner.read_bytes(path)  # type: ignore[attr-defined]
        except OSError as exc:
            self._calls["read_bytes"][path] = _errno_of(exc)
            raise
        self._calls["read_bytes"][path] = data.decode("utf-8", "surrogateescape")
        return data

    def realpath(self, path: str) -> str:
        return self._record("realpath", path)

    def listdir(self, path: str) -> list[str]:
        return self._record("listdir", path)

    def stat(self, path: str) -> FileStat:
        return self._record("stat", path)

    def lstat(self, path: str) -> FileStat:
        return self._record("lstat", path)

    def statfs_type(self, path: str) -> int:
        return self._record("statfs_type", path)

    def loop_status(self, name: str) -> LoopStatus:
        return self._record("loop_status", name)

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "description": self.description,
            "mountinfo": _shared_tables(self._mountinfo),
            "calls": self._calls,
        }
        if self.inspect_data is not None:
            out["inspect"] = self.inspect_data
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        write_json_atomic(Path(path), self.snapshot())


def _shared_tables(tables: dict[str, Any]) -> dict[str, Any]:
    """Each distinct table once: the shims of a node share the host's mount namespace, and
    200 copies of a 2,000-line table would not fit in a recording (64 MiB)."""
    out: dict[str, Any] = {}
    first: dict[str, str] = {}
    for key in sorted(tables, key=lambda k: (k != "self", k)):
        text = tables[key]
        if isinstance(text, str) and text in first:
            out[key] = {"same_as": first[text]}
        else:
            out[key] = text
            if isinstance(text, str):
                first[text] = key
    return out


def write_json_atomic(path: Path, data: Any, mode: int = 0o600) -> None:
    """Write JSON through a temp file in the same directory and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
