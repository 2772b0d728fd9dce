"""Where the simulated agent may listen, and the checks that make it safe to.

The socket is the agent's only door, so it is guarded like one: it lives in a 0700
directory (created if missing), gets mode 0600 (the server binds under umask 0177), and
a listen path whose directory is group- or world-writable is refused: anyone could
otherwise replace the socket and impersonate the agent.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

#: sun_path is 108 bytes including the NUL; gRPC core refuses longer paths.
UNIX_PATH_MAX = 107


class ListenError(Exception):
    """The listen address cannot be used safely; the text is one operator-facing line."""


class BadListenPath(ListenError):
    """The address or its directory is refused as given (bad input: the CLI exits 2),
    as opposed to a listen that failed at run time (a socket in use: exit 1)."""


def socket_path(url: str) -> Path:
    """The filesystem path of a `unix:///abs/path` (or `unix:/abs/path`) address."""
    if url.startswith("unix://"):
        raw = url[len("unix://") :]
    elif url.startswith("unix:"):
        raw = url[len("unix:") :]
    else:
        raise BadListenPath(f"{url!r} is not a unix:// address")
    if not raw.startswith("/"):
        raise BadListenPath(f"{url!r}: the socket path must be absolute")
    try:
        encoded = raw.encode("utf-8")  # gRPC takes the address as UTF-8 text
    except UnicodeEncodeError:
        raise BadListenPath(f"{url!r}: the socket path is not valid UTF-8") from None
    if "\0" in raw:
        raise BadListenPath(f"{url!r}: the socket path contains a NUL byte")
    if len(encoded) > UNIX_PATH_MAX:
        raise BadListenPath(f"{url!r}: socket path longer than {UNIX_PATH_MAX} bytes")
    return Path(raw)


def prepare_socket_dir(path: Path) -> None:
    """Create the socket's directory 0700, or check an existing one is not writable by
    others; clear a stale socket file, refuse a live one or a non-socket."""
    directory = path.parent
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise BadListenPath(f"cannot create {directory}: {exc.strerror}") from None
    try:
        st = directory.stat()
    except OSError as exc:
        raise BadListenPath(f"cannot use {directory}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BadListenPath(f"{directory} is not a directory")
    if st.st_mode & 0o022:
        raise BadListenPath(
            f"refusing {directory}: group- or world-writable (mode {stat.S_IMODE(st.st_mode):04o})"
        )
    if st.st_uid != os.geteuid():
        raise BadListenPath(f"refusing {directory}: owned by uid {st.st_uid}, not by us")
    try:
        existing = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(existing.st_mode):
        raise BadListenPath(f"refusing {path}: exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale: left by an agent that was killed
    else:
        raise ListenError(f"{path} is in use by a running agent")
    finally:
        probe.close()
