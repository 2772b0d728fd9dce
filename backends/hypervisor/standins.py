"""Stand-in layer files for a VM whose layers come from a recorded host.

A recording (the demo node, a bug report's `--snapshot`) names layer files such as
`/var/lib/containerd/.../layer.erofs` that are not on this machine, so QEMU cannot open
them. The engine still resolves, indexes and persists the recorded path (that is what Kata
would use); only the file QEMU is handed is a small real EROFS image made for it here, one
per recorded path, in the VM's private run directory. Each stand-in is logged with the path
it replaces, so nothing on screen pretends the recorded file was read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kata_console.engine.ports import HypervisorError

MKFS = "mkfs.erofs"
#: without mkfs.erofs a zeroed file this size: QEMU attaches any raw file (the VM is
#: paused, nothing reads it)
BLANK_SIZE = 4096


class StandInLayers:
    """The stand-in for each recorded layer path, made on first use."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.made: dict[str, str] = {}  # recorded path -> stand-in path

    def file_for(self, recorded: str) -> str:
        """The stand-in image QEMU opens for `recorded` (HypervisorError if it cannot be
        made). A file of that name on this machine is never used: it is not the recorded
        host's file."""
        if recorded in self.made:
            return self.made[recorded]
        digest = hashlib.sha256(recorded.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        path = self.root / f"{digest}-{Path(recorded).name or 'layer'}"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                _make_image(path)
        except (OSError, subprocess.SubprocessError) as exc:
            raise HypervisorError(f"stand-in for {recorded}: {_text(exc)}") from None
        self.made[recorded] = str(path)
        return str(path)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.made.clear()


def _make_image(path: Path) -> None:
    """An empty EROFS image (mkfs.erofs of an empty directory), or a zeroed file; written
    beside and renamed, so a stand-in is never half-made."""
    tmp = path.with_name(path.name + ".tmp")
    mkfs = shutil.which(MKFS)
    if mkfs is not None:
        with tempfile.TemporaryDirectory(dir=path.parent) as empty:
            subprocess.run(
                [mkfs, "--quiet", str(tmp), empty],
                check=True,
                capture_output=True,
                timeout=30,
            )
    else:
        with open(tmp, "wb") as f:
            f.truncate(BLANK_SIZE)
    os.replace(tmp, path)


def _text(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        err = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        return f"{MKFS} failed: {err[-1] if err else f'exit {exc.returncode}'}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
