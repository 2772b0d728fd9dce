"""Kata's device and hypervisor persist structs (`pkg/device/config`: DeviceState, BlockDrive,
VhostUserDeviceAttrs, VFIODev; `pkg/hypervisors`: HypervisorState, Bridge), and the two
named types they share with the rest (`types.PciPath`, always `{}` on the wire, and
`config.PCIePort`). See `api` for the source commit.
"""

from __future__ import annotations

from kata_console.engine.persist.gojson import (
    BOOL,
    EMPTY_STRUCT,
    INT,
    INT64,
    STRING,
    UINT,
    UINT32,
    F,
    Map,
    Ptr,
    Slice,
    Struct,
    named_string,
    named_uint32,
)

PCI_PATH = Struct("types.PciPath", [])
PCIE_PORT = named_string("config.PCIePort")
STRINGS = Slice(STRING)


# --------------------------------------------------------------------- pkg/device/config
BLOCK_DRIVE = Struct(
    "config.BlockDrive",
    [
        F("File", STRING),
        F("Format", STRING),
        F("ID", STRING),
        F("MmioAddr", STRING),
        F("SCSIAddr", STRING),
        F("NvdimmID", STRING),
        F("VirtPath", STRING),
        F("DevNo", STRING),
        F("PCIPath", PCI_PATH),
        F("Index", INT),
        F("ShareRW", BOOL),
        F("ReadOnly", BOOL),
        F("DiscardUnmap", BOOL),
        F("Pmem", BOOL),
        F("Swap", BOOL),
    ],
)
VHOST_USER_DEVICE_ATTRS = Struct(
    "config.VhostUserDeviceAttrs",
    [
        F("DevID", STRING),
        F("SocketPath", STRING),
        F("MacAddress", STRING),
        F("Tag", STRING),
        F("Cache", STRING),
        F("Type", named_string("config.DeviceType")),
        F("PCIPath", PCI_PATH),
        F("Index", INT),
        F("CacheSize", UINT32),
        F("QueueSize", UINT32),
        F("ReconnectTime", UINT32),
    ],
)
VFIO_DEV = Struct(
    "config.VFIODev",
    [
        F("ID", STRING),
        F("BDF", STRING),
        F("SysfsDev", STRING),
        F("DevfsDev", STRING),
        F("VendorID", STRING),
        F("DeviceID", STRING),
        F("Class", STRING),
        F("Bus", STRING),
        F("GuestPciPath", PCI_PATH),
        F("Type", named_uint32("config.VFIODeviceType")),
        F("NUMANode", INT),
        F("IsPCIe", BOOL),
        F("APDevices", STRINGS),
        F("Port", PCIE_PORT),
        F("HostPath", STRING),
    ],
)
DEVICE_STATE = Struct(
    "config.DeviceState",
    [
        F("DriverOptions", Map("string", STRING)),
        F("VhostUserDev", Ptr(VHOST_USER_DEVICE_ATTRS), omitempty=True),
        F("BlockDrive", Ptr(BLOCK_DRIVE), omitempty=True),
        F("ID", STRING),
        F("Type", STRING),
        F("DevType", STRING),
        F("VFIODevs", Slice(Ptr(VFIO_DEV)), omitempty=True),
        F("RefCount", UINT),
        F("AttachCount", UINT),
        F("Major", INT64),
        F("Minor", INT64),
        F("ColdPlug", BOOL),
    ],
)

# --------------------------------------------------------------------- pkg/hypervisors
BRIDGE = Struct(
    "hypervisors.Bridge",
    [
        F("DeviceAddr", Map("uint32", STRING)),
        F("Type", STRING),
        F("ID", STRING),
        F("Addr", INT),
        F("ParentID", STRING),
        F("ParentAddr", INT),
    ],
)
HYPERVISOR_STATE = Struct(
    "hypervisors.HypervisorState",
    [
        F("BlockIndexMap", Map("int", EMPTY_STRUCT)),
        F("Type", STRING),
        F("UUID", STRING),
        F("APISocket", STRING),
        F("Bridges", Slice(BRIDGE)),
        F("HotpluggedVCPUs", Slice(Struct("hypervisors.CPUDevice", [F("ID", STRING)]))),
        F("HotpluggedMemory", INT),
        F("VirtiofsDaemonPid", INT),
        F("Pid", INT),
        F("HotPlugVFIO", PCIE_PORT),
        F("ColdPlugVFIO", PCIE_PORT),
        F("PCIeRootPort", UINT32),
        F("PCIeSwitchPort", UINT32),
    ],
)
