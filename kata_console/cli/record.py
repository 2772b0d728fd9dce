"""`kata-console record --out FILE [--vc-root DIR]`: see `kata_console.cli.inspect`."""

from __future__ import annotations

from kata_console.cli.inspect import register_record as register
from kata_console.cli.inspect import run_record as run

__all__ = ["register", "run"]
