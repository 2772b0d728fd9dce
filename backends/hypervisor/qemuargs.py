"""QEMU's command line and the QMP arguments Kata sends, built as Kata's Go code builds them.

The arguments of `blockdev-add`, `device_add` and `blockdev-del` are those of govmm
(`src/runtime/pkg/govmm/qemu/qmp.go`: `blockdevAddBaseArgs`, `ExecuteSCSIDeviceAdd`,
`executePCIDeviceAdd`, `ExecuteBlockdevDel`) with the values `qemu.go`
(`hotplugAddBlockDevice`) passes: node name = the drive ID, device ID = `virtio-<drive ID>`,
`share-rw` on, an empty `romfile`. The VM is started paused (`-S`): there is no guest kernel,
so nothing in it ever answers an unplug request of a PCI device (see `QemuHypervisor`).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from kata_console.engine.lifecycle.drives import BlockDrive

#: virtio-scsi controller id (Go `scsiControllerID`); its bus is `scsi0.0`
SCSI_CONTROLLER = "scsi0"
SCSI_ADDR = 0x3
#: the pcie-root-ports virtio-blk disks are plugged into: `rp<i>` at slot ROOT_PORT_SLOT0 + i
ROOT_PORT_PREFIX = "rp"
ROOT_PORT_SLOT0 = 0x4
DEVICE_PREFIX = "virtio-"  # Go: devID := "virtio-" + drive.ID
AIO_MODES = ("threads", "native", "io_uring")


@dataclass(frozen=True, slots=True)
class QemuConfig:
    """What `start_vm` launches. The defaults are a minimal VM: q35, KVM when the
    host has it (TCG otherwise), 128 MiB, paused, no default devices, no display."""

    binary: str = "qemu-system-x86_64"
    machine: str = "q35"
    accel: str = "kvm:tcg"
    memory_mb: int = 128
    root_ports: int = 4
    #: Kata's `block_device_aio` (its configuration-qemu.toml default is io_uring; threads
    #: works on every host QEMU runs on)
    aio: str = "threads"
    #: seconds: QEMU up and QMP negotiated / one QMP command / DEVICE_DELETED / quit
    start_timeout: float = 10.0
    command_timeout: float = 5.0
    unplug_timeout: float = 5.0
    stop_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.aio not in AIO_MODES:
            raise ValueError(f"QEMU aio {self.aio!r}: one of {', '.join(AIO_MODES)}")
        if not 0 <= self.root_ports <= 28:  # slots 4..31 of pcie.0
            raise ValueError(f"QEMU root ports {self.root_ports}: from 0 to 28")
        if self.memory_mb < 16:
            raise ValueError(f"QEMU memory {self.memory_mb} MiB: at least 16")


def argv(cfg: QemuConfig, binary: str, sandbox_id: str, run_dir: str, uuid: str) -> list[str]:
    """The command line. `-name sandbox-<id>` is how Kata names its VMs, and what the host
    inspection matches a QEMU process by."""
    args = [
        binary,
        "-name",
        f"sandbox-{sandbox_id}",
        "-uuid",
        uuid,
        "-machine",
        f"{cfg.machine},accel={cfg.accel}",
        "-S",
        "-nodefaults",
        "-nographic",
        "-m",
        str(cfg.memory_mb),
        "-device",
        f"virtio-scsi-pci,id={SCSI_CONTROLLER},bus=pcie.0,addr={SCSI_ADDR:#x}",
    ]
    for i in range(cfg.root_ports):
        args += [
            "-device",
            f"pcie-root-port,id={ROOT_PORT_PREFIX}{i},bus=pcie.0,chassis={i + 1},"
            f"addr={ROOT_PORT_SLOT0 + i:#x}",
        ]
    args += [
        "-qmp",
        f"unix:{run_dir}/qmp.sock,server=on,wait=off",
        "-pidfile",
        f"{run_dir}/pid",
    ]
    return args


def root_port_slot(port: int) -> int:
    return ROOT_PORT_SLOT0 + port


def pci_path(port: int) -> str:
    """Go `PciPathFromSlots(bridgeSlot, devSlot)`: the root port's slot on pcie.0, then the
    device's slot behind it (0: a root port has one)."""
    return f"{root_port_slot(port):02x}/00"


def blockdev_add(drive: BlockDrive, aio: str, filename: str | None = None) -> dict[str, Any]:
    """govmm `ExecuteBlockdevAdd`: the `file` driver for a regular file, `host_device` for
    anything else (a block device node). `filename` is what QEMU opens when that is not
    the drive's own file (a stand-in for a recorded host's layer)."""
    filename = drive.file if filename is None else filename
    try:
        regular = stat.S_ISREG(os.stat(filename).st_mode)
    except OSError:
        regular = False  # Go: a failed stat also takes host_device; QEMU then says why
    args: dict[str, Any] = {
        "driver": "raw",
        "read-only": drive.read_only,
        "file": {
            "driver": "file" if regular else "host_device",
            "filename": filename,
            "aio": aio,
        },
        "node-name": drive.id,
    }
    if drive.discard_unmap:
        args["discard"] = "unmap"
        args["file"]["discard"] = "unmap"
    return args


def scsi_device_add(drive: BlockDrive) -> dict[str, Any]:
    """govmm `ExecuteSCSIDeviceAdd(drive.ID, devID, "scsi-hd", "scsi0.0", "", id, lun,
    true, false)` with Go's `GetSCSIIdLun(index)` = (index / 256, index % 256)."""
    return {
        "id": DEVICE_PREFIX + drive.id,
        "driver": "scsi-hd",
        "drive": drive.id,
        "bus": f"{SCSI_CONTROLLER}.0",
        "scsi-id": drive.index // 256,
        "lun": drive.index % 256,
        "share-rw": True,
    }


def pci_device_add(drive: BlockDrive, port: int) -> dict[str, Any]:
    """govmm `executePCIDeviceAdd` for `virtio-blk-pci` behind root port `port`, slot 0."""
    args: dict[str, Any] = {
        "id": DEVICE_PREFIX + drive.id,
        "driver": "virtio-blk-pci",
        "drive": drive.id,
        "addr": "00",
        "bus": f"{ROOT_PORT_PREFIX}{port}",
        "share-rw": True,
    }
    if drive.discard_unmap:
        args["discard"] = True
    args["num-queues"] = 1  # Go: the sandbox's vCPUs; this VM has one
    args["romfile"] = ""
    return args


def parse_version(reply: Any) -> str:
    """`query-version` as QEMU prints it: `7.2.22 (Debian 1:7.2+dfsg-7)`."""
    q = reply.get("qemu", {}) if isinstance(reply, dict) else {}
    text = f"{q.get('major', '?')}.{q.get('minor', '?')}.{q.get('micro', '?')}"
    package = str(reply.get("package", "")).strip() if isinstance(reply, dict) else ""
    return f"{text} ({package})" if package else text
