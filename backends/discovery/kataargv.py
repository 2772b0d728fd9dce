"""Which Kata process a name and an argv belong to, and the sandbox it serves.

Kata puts the sandbox id into every process it starts, each in its own place (Go runtime,
`src/runtime/...`): the shim's `-id <id>` (`pkg/containerd-shim-v2/service.go`
`newCommand`), QEMU's `-name sandbox-<id>[,debug-threads=on]` (`virtcontainers/qemu.go`,
govmm `appendName`), cloud-hypervisor's `--api-socket <vm-root>/<id>/clh-api.sock`
(`clh.go`), firecracker's `--id <id>` (the jailer passes it on) or `--api-sock
<base>/<hypervisor>/<id>/root/run/firecracker.socket` unjailed (`fc.go` `setPaths`), and
virtiofsd's `--shared-dir=<shared>/sandboxes/<id>/shared` (`virtiofsd.go`, `GetSharePath`).

The positions are read structurally (the component before a known file name) rather than
under a fixed `/run/vc`, so a non-default `VMStorePath`, a rootless prefix or another
hypervisor file name still yields the id. Whatever comes out of an argv is untrusted: it
passes the project's id rule before anything may use it as a path component, and an id
that fails it is reported, never returned.

Pure functions of strings: no psutil here, so the rules are testable on their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kata_console.engine.ids import InvalidIdError, validate_id
from kata_console.engine.inspect.facts import SHIM, VIRTIOFSD, VMM

#: the Go shim and runtime-rs share this name; kata-deploy adds per-hypervisor names
#: (`containerd-shim-kata-qemu-v2`, ...) for the same binary
_SHIM_NAME = re.compile(r"containerd-shim-kata(?:-[A-Za-z0-9_.]+)?-v2\Z")
_EXACT = {
    "containerd-shim-kata-v2": SHIM,
    "cloud-hypervisor": VMM,
    "firecracker": VMM,
    # distributions package QEMU for KVM under this name (RHEL, CentOS, Fedora)
    "qemu-kvm": VMM,
    "virtiofsd": VIRTIOFSD,
}
_INITIALS = frozenset("cfqv")
_REPR_MAX = 80


@dataclass(frozen=True, slots=True)
class KataIdentity:
    """What an argv says about a process. `marked` is whether the argv has Kata's id
    place at all (a QEMU without `-name sandbox-...` may be someone else's VM); `error`
    says why an id found there was refused."""

    role: str
    sandbox_id: str | None = None
    marked: bool = False
    error: str | None = None


def _role(name: str) -> str | None:
    role = _EXACT.get(name)
    if role is None:
        if name.startswith("qemu-system-"):
            return VMM
        if name.startswith("containerd-shim-kata") and _SHIM_NAME.match(name):
            return SHIM
    return role


def role_of(name: str | None, argv0: str | None) -> tuple[str, str] | None:
    """(role, the name it matched) from psutil's name, else from basename(argv[0]).

    psutil's name is the full binary name even past the kernel's 15-character comm (it
    restores it from argv[0]); argv[0] alone catches a process started under another
    name (`exec -a`). The comm is never used: `containerd-shim` is also runc's shim.
    Called for every process on the host, so a name whose first letter no Kata name has
    costs one set lookup.
    """
    if name and name[0] in _INITIALS:
        role = _role(name)
        if role is not None:
            return role, name
    if argv0:
        base = argv0.rpartition("/")[2]
        if base and base != name and base[0] in _INITIALS:
            role = _role(base)
            if role is not None:
                return role, base
    return None


def flag_value(argv: Sequence[str], *flags: str) -> str | None:
    """The value of the first of `flags` in argv, as `-flag value` or `-flag=value`
    (Go's flag package and Rust's clap accept both)."""
    for i in range(1, len(argv)):
        arg = argv[i]
        for flag in flags:
            if arg == flag:
                return argv[i + 1] if i + 1 < len(argv) else None
            if arg.startswith(flag) and arg[len(flag) : len(flag) + 1] == "=":
                return arg[len(flag) + 1 :]
    return None


def _component_before(path: str, tail: Sequence[str]) -> str | None:
    """The path component just before the components `tail` (`None` if path does not
    end with them). No normalisation: `..` stays a component and is then refused."""
    parts = path.rstrip("/").split("/")
    n = len(tail)
    if len(parts) <= n or parts[-n:] != list(tail):
        return None
    return parts[-n - 1]


def _checked(role: str, where: str, value: str) -> KataIdentity:
    try:
        return KataIdentity(role, validate_id("sandbox", value), marked=True)
    except InvalidIdError as exc:
        shown = value if len(value) <= _REPR_MAX else value[:_REPR_MAX] + "..."
        return KataIdentity(role, None, marked=True, error=f"{where} {shown!r}: {exc}")


def _shim(argv: Sequence[str]) -> KataIdentity:
    value = flag_value(argv, "-id", "--id")
    if value is None:
        return KataIdentity(SHIM, marked=True)
    return _checked(SHIM, "-id", value)


def _qemu(argv: Sequence[str]) -> KataIdentity:
    value = flag_value(argv, "-name", "--name")
    if value is None:
        return KataIdentity(VMM)
    first = value.split(",", 1)[0]
    first = first.removeprefix("guest=")
    if not first.startswith("sandbox-"):
        return KataIdentity(VMM)
    return _checked(VMM, "-name", first[len("sandbox-") :])


def _cloud_hypervisor(argv: Sequence[str]) -> KataIdentity:
    value = flag_value(argv, "--api-socket")
    if value is None:
        return KataIdentity(VMM)
    path = value.removeprefix("path=").split(",", 1)[0]
    sid = _component_before(path, ("clh-api.sock",))
    if sid is None:
        return KataIdentity(VMM)
    return _checked(VMM, "--api-socket", sid)


def _firecracker(argv: Sequence[str]) -> KataIdentity:
    value = flag_value(argv, "--id")
    if value is not None:
        return _checked(VMM, "--id", value)
    sock = flag_value(argv, "--api-sock")
    sid = _component_before(sock, ("root", "run", "firecracker.socket")) if sock else None
    if sid is None:
        return KataIdentity(VMM)
    return _checked(VMM, "--api-sock", sid)


def _virtiofsd(argv: Sequence[str]) -> KataIdentity:
    where, path = "--shared-dir", flag_value(argv, "--shared-dir")
    if path is None:  # the C virtiofsd of QEMU <= 7: `-o source=PATH,cache=...`
        opts = flag_value(argv, "-o") or ""
        where = "-o source"
        path = next((o[len("source=") :] for o in opts.split(",") if o.startswith("source=")), None)
    if path is None:
        return KataIdentity(VIRTIOFSD)
    parts = path.rstrip("/").split("/")
    if len(parts) < 3 or parts[-1] != "shared" or parts[-3] != "sandboxes":
        return KataIdentity(VIRTIOFSD)
    return _checked(VIRTIOFSD, where, parts[-2])


def identify(role: str, matched: str, argv: Sequence[str]) -> KataIdentity:
    """The sandbox a process of `role` (matched by the name `matched`) serves."""
    if role == SHIM:
        return _shim(argv)
    if role == VIRTIOFSD:
        return _virtiofsd(argv)
    if matched == "cloud-hypervisor":
        return _cloud_hypervisor(argv)
    if matched == "firecracker":
        return _firecracker(argv)
    return _qemu(argv)
