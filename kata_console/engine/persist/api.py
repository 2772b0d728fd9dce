"""Kata's persist structs as `gojson` schemas, field for field in Go's declaration order.

Transcribed from upstream kata-containers (commit 7c6ba40c, 2026-08-22):
`virtcontainers/persist/api/{sandbox,container,config,network}.go`,
`pkg/device/config/config.go` (DeviceState, BlockDrive, VhostUserDeviceAttrs, VFIODev),
`pkg/hypervisors` (HypervisorState, Bridge, CPUDevice), `virtcontainers/types/pcipath.go`
(PciPath: one unexported field, so always `{}` on the wire), OCI runtime-spec v1.2.1
`LinuxResources` and netlink v1.3.1 `Addr` (the versions Kata's go.mod pins). The Go type
names are the ones Go's decoder prints in its errors (`config.BlockDrive`, `types.PciPath`).

Only runc's `*configs.Cgroup` (`Config.cgroups`) is kept as raw JSON: Kata never fills it
(`dumpConfig` leaves it nil), and its struct is runc's whole cgroup configuration.
"""

from __future__ import annotations

from kata_console.engine.persist.apidevices import (  # noqa: F401 (re-exported)
    BLOCK_DRIVE,
    BRIDGE,
    DEVICE_STATE,
    HYPERVISOR_STATE,
    PCI_PATH,
    PCIE_PORT,
    STRINGS,
    VFIO_DEV,
    VHOST_USER_DEVICE_ATTRS,
)
from kata_console.engine.persist.apinetwork import (  # noqa: F401 (re-exported)
    NETLINK_ADDR,
    NETWORK_ENDPOINT,
    NETWORK_INFO,
    NETWORK_INTERFACE_PAIR,
)
from kata_console.engine.persist.apioci import LINUX_RESOURCES
from kata_console.engine.persist.gojson import (
    BOOL,
    FLOAT32,
    INT,
    INT64,
    STRING,
    TIME,
    UINT,
    UINT32,
    UINT64,
    F,
    Map,
    Ptr,
    Raw,
    Slice,
    Struct,
    named_uint32,
)

CUR_PERSIST_VERSION = 2

# --------------------------------------------------------------------- persist/api/config.go
_HV_STRINGS = [
    "KernelPath",
    "ImagePath",
    "InitrdPath",
    "FirmwarePath",
    "MachineAccelerators",
    "CPUFeatures",
    "HypervisorPath",
    "JailerPath",
    "BlockDeviceDriver",
    "HypervisorMachineType",
    "MemoryPath",
    "DevicesStatePath",
    "EntropySource",
    "SharedFS",
    "VirtioFSDaemon",
    "VirtioFSCache",
    "VhostUserStorePath",
    "SeccompSandbox",
    "GuestHookPath",
    "VMid",
]
_HV_LISTS = [
    "HypervisorPathList",
    "JailerPathList",
    "EntropySourceList",
    "VirtioFSDaemonList",
    "VirtioFSExtraArgs",
    "VhostUserStorePathList",
    "EnableAnnotations",
]
HYPERVISOR_CONFIG = Struct(
    "persistapi.HypervisorConfig",
    [
        *(F(name, STRING) for name in _HV_STRINGS),
        *(F(name, STRINGS) for name in _HV_LISTS),
        F("MemOffset", UINT64),
        F("RxRateLimiterMaxRate", UINT64),
        F("TxRateLimiterMaxRate", UINT64),
        F("SGXEPCSize", INT64),
        F("NumVCPUsF", FLOAT32),
        *(
            F(name, UINT32)
            for name in ["DefaultMaxVCPUs", "MemorySize", "DefaultBridges", "Msize9p", "MemSlots"]
        ),
        F("VirtioFSCacheSize", UINT32),
        F("BlockDeviceCacheSet", BOOL),
        F("BlockDeviceCacheDirect", BOOL),
        F("BlockDeviceCacheNoflush", BOOL),
        F("BlockDeviceLogicalSectorSize", UINT32),
        F("BlockDevicePhysicalSectorSize", UINT32),
        F("DisableBlockDeviceUse", BOOL),
        F("EnableIOThreads", BOOL),
        F("IndepIOThreads", UINT32),
        *(
            F(name, BOOL)
            for name in [
                "Debug",
                "MemPrealloc",
                "HugePages",
                "VirtioMem",
                "DisableNestingChecks",
                "DisableImageNvdimm",
            ]
        ),
        F("HotPlugVFIO", PCIE_PORT),
        F("ColdPlugVFIO", PCIE_PORT),
        F("PCIeRootPort", UINT32),
        F("PCIeSwitchPort", UINT32),
        *(
            F(name, BOOL)
            for name in [
                "BootToBeTemplate",
                "BootFromTemplate",
                "DisableVhostNet",
                "EnableVhostUserStore",
            ]
        ),
    ],
)
CONTAINER_CONFIG = Struct(
    "persistapi.ContainerConfig",
    [
        F("Annotations", Map("string", STRING)),
        F("Resources", LINUX_RESOURCES),
        F("ID", STRING),
        F("RootFs", STRING),
    ],
)
SANDBOX_CONFIG = Struct(
    "persistapi.SandboxConfig",
    [
        F("cgroups", Raw("*configs.Cgroup")),
        F(
            "KataAgentConfig",
            Ptr(Struct("persistapi.KataAgentConfig", [F("LongLiveConn", BOOL)])),
            omitempty=True,
        ),
        F(
            "KataShimConfig",
            Ptr(Struct("persistapi.ShimConfig", [F("Path", STRING), F("Debug", BOOL)])),
        ),
        F("GuestSeLinuxLabel", STRING),
        F("HypervisorType", STRING),
        F("SandboxBindMounts", STRINGS),
        F("Experimental", STRINGS),
        F("ContainerConfigs", Slice(CONTAINER_CONFIG)),
        F(
            "NetworkConfig",
            Struct(
                "persistapi.NetworkConfig",
                [
                    F("NetworkID", STRING),
                    F("NetworkCreated", BOOL),
                    F("DisableNewNetwork", BOOL),
                    F("InterworkingModel", INT),
                ],
            ),
        ),
        F("HypervisorConfig", HYPERVISOR_CONFIG),
        F("ShmSize", UINT64),
        *(
            F(name, BOOL)
            for name in [
                "SharePidNs",
                "Stateful",
                "SystemdCgroup",
                "SandboxCgroupOnly",
                "DisableGuestSeccomp",
                "EnableVCPUsPinning",
            ]
        ),
    ],
)

# --------------------------------------------------------------------- persist/api/sandbox.go
SANDBOX_STATE = Struct(
    "persistapi.SandboxState",
    [
        F("CgroupPaths", Map("string", STRING)),
        F("Devices", Slice(DEVICE_STATE)),
        F("State", STRING),
        F("SandboxContainer", STRING),
        F("SandboxCgroupPath", STRING),
        F("OverheadCgroupPath", STRING),
        F("HypervisorState", HYPERVISOR_STATE),
        F("AgentState", Struct("persistapi.AgentState", [F("URL", STRING)])),
        F("Network", NETWORK_INFO),
        F("Config", SANDBOX_CONFIG),
        F("PersistVersion", UINT),
        F("GuestMemoryBlockSizeMB", UINT32),
        F("GuestMemoryHotplugProbe", BOOL),
    ],
)

# --------------------------------------------------------------------- persist/api/container.go
DEVICE_MAP = Struct(
    "persistapi.DeviceMap",
    [
        F("ID", STRING),
        F("ContainerPath", STRING),
        F("FileMode", named_uint32("fs.FileMode")),
        F("UID", UINT32),
        F("GID", UINT32),
        F("Shared", BOOL),
    ],
)
MOUNT = Struct(
    "persistapi.Mount",
    [
        F("Source", STRING),
        F("Destination", STRING),
        F("Type", STRING),
        F("HostPath", STRING),
        F("BlockDeviceID", STRING),
        F("Options", STRINGS),
        F("ReadOnly", BOOL),
    ],
)
CONTAINER_STATE_DEVICE_MAPS = Slice(DEVICE_MAP)
CONTAINER_STATE = Struct(
    "persistapi.ContainerState",
    [
        F("State", STRING),
        F("CgroupPath", STRING),
        F("BundlePath", STRING),
        F(
            "Rootfs",
            Struct("persistapi.RootfsState", [F("BlockDeviceID", STRING), F("FsType", STRING)]),
        ),
        F(
            "Process",
            Struct(
                "persistapi.Process",
                [F("StartTime", TIME), F("Token", STRING), F("Pid", INT)],
            ),
        ),
        F("DeviceMaps", CONTAINER_STATE_DEVICE_MAPS),
        F("Mounts", Slice(MOUNT)),
    ],
)
