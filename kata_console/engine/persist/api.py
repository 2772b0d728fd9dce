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

from kata_console.engine.persist.gojson import (
    BOOL,
    EMPTY_STRUCT,
    FLOAT32,
    INT,
    INT64,
    IP,
    STRING,
    TIME,
    UINT,
    UINT16,
    UINT32,
    UINT64,
    F,
    Map,
    Ptr,
    Raw,
    Slice,
    Struct,
    embedded,
    named_bytes,
    named_string,
    named_uint32,
)

CUR_PERSIST_VERSION = 2

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

# --------------------------------------------------------------------- persist/api/network.go
IPNET = Struct("net.IPNet", [F("IP", IP), F("Mask", named_bytes("net.IPMask"))])
NETLINK_ADDR = Struct(
    "netlink.Addr",
    [
        embedded(Ptr(IPNET)),
        F("Label", STRING),
        F("Flags", INT),
        F("Scope", INT),
        F("Peer", Ptr(IPNET)),
        F("Broadcast", IP),
        F("PreferedLft", INT),
        F("ValidLft", INT),
        F("LinkIndex", INT),
    ],
)
NETWORK_INTERFACE = Struct(
    "persistapi.NetworkInterface",
    [F("Name", STRING), F("HardAddr", STRING), F("Addrs", Slice(NETLINK_ADDR))],
)
TAP_INTERFACE = Struct(
    "persistapi.TapInterface",
    [F("ID", STRING), F("Name", STRING), F("TAPIface", NETWORK_INTERFACE)],
)
TUNTAP_INTERFACE = Struct(
    "persistapi.TuntapInterface", [F("Name", STRING), F("TAPIface", NETWORK_INTERFACE)]
)
NETWORK_INTERFACE_PAIR = Struct(
    "persistapi.NetworkInterfacePair",
    [embedded(TAP_INTERFACE), F("VirtIface", NETWORK_INTERFACE), F("NetInterworkingModel", INT)],
)


def _pair_endpoint(go: str) -> Struct:
    return Struct(go, [F("NetPair", NETWORK_INTERFACE_PAIR)])


NETWORK_ENDPOINT = Struct(
    "persistapi.NetworkEndpoint",
    [
        F(
            "Physical",
            Ptr(
                Struct(
                    "persistapi.PhysicalEndpoint",
                    [F("BDF", STRING), F("Driver", STRING), F("VendorDeviceID", STRING)],
                )
            ),
            omitempty=True,
        ),
        F("Veth", Ptr(_pair_endpoint("persistapi.VethEndpoint")), omitempty=True),
        F(
            "VhostUser",
            Ptr(
                Struct(
                    "persistapi.VhostUserEndpoint",
                    [F("IfaceName", STRING), F("PCIPath", PCI_PATH)],
                )
            ),
            omitempty=True,
        ),
        F("Macvlan", Ptr(_pair_endpoint("persistapi.MacvlanEndpoint")), omitempty=True),
        F(
            "Macvtap",
            Ptr(Struct("persistapi.MacvtapEndpoint", [F("PCIPath", PCI_PATH)])),
            omitempty=True,
        ),
        F(
            "Tap",
            Ptr(Struct("persistapi.TapEndpoint", [F("TapInterface", TAP_INTERFACE)])),
            omitempty=True,
        ),
        F("IPVlan", Ptr(_pair_endpoint("persistapi.IPVlanEndpoint")), omitempty=True),
        F(
            "Tuntap",
            Ptr(Struct("persistapi.TuntapEndpoint", [F("TuntapInterface", TUNTAP_INTERFACE)])),
            omitempty=True,
        ),
        F(
            "Vfio",
            Ptr(Struct("persistapi.VfioEndpoint", [F("IfaceName", STRING)])),
            omitempty=True,
        ),
        F("Type", STRING),
    ],
)
NETWORK_INFO = Struct(
    "persistapi.NetworkInfo",
    [
        F("NetworkID", STRING),
        F("Endpoints", Slice(NETWORK_ENDPOINT)),
        F("NetworkCreated", BOOL),
    ],
)

# --------------------------------------------------------------------- OCI LinuxResources
_OPT_INT64 = Ptr(INT64)
_OPT_UINT64 = Ptr(UINT64)
_OPT_UINT16 = Ptr(UINT16)
_OPT_UINT32 = Ptr(UINT32)
_OPT_BOOL = Ptr(BOOL)
_BLKIO_DEV = [F("major", INT64), F("minor", INT64)]
_THROTTLE = Slice(Struct("specs.LinuxThrottleDevice", [*_BLKIO_DEV, F("rate", UINT64)]))
LINUX_RESOURCES = Struct(
    "specs.LinuxResources",
    [
        F(
            "devices",
            Slice(
                Struct(
                    "specs.LinuxDeviceCgroup",
                    [
                        F("allow", BOOL),
                        F("type", STRING, omitempty=True),
                        F("major", _OPT_INT64, omitempty=True),
                        F("minor", _OPT_INT64, omitempty=True),
                        F("access", STRING, omitempty=True),
                    ],
                )
            ),
            omitempty=True,
        ),
        F(
            "memory",
            Ptr(
                Struct(
                    "specs.LinuxMemory",
                    [
                        F(name, t, omitempty=True)
                        for name, t in (
                            ("limit", _OPT_INT64),
                            ("reservation", _OPT_INT64),
                            ("swap", _OPT_INT64),
                            ("kernel", _OPT_INT64),
                            ("kernelTCP", _OPT_INT64),
                            ("swappiness", _OPT_UINT64),
                            ("disableOOMKiller", _OPT_BOOL),
                            ("useHierarchy", _OPT_BOOL),
                            ("checkBeforeUpdate", _OPT_BOOL),
                        )
                    ],
                )
            ),
            omitempty=True,
        ),
        F(
            "cpu",
            Ptr(
                Struct(
                    "specs.LinuxCPU",
                    [
                        F(name, t, omitempty=True)
                        for name, t in (
                            ("shares", _OPT_UINT64),
                            ("quota", _OPT_INT64),
                            ("burst", _OPT_UINT64),
                            ("period", _OPT_UINT64),
                            ("realtimeRuntime", _OPT_INT64),
                            ("realtimePeriod", _OPT_UINT64),
                            ("cpus", STRING),
                            ("mems", STRING),
                            ("idle", _OPT_INT64),
                        )
                    ],
                )
            ),
            omitempty=True,
        ),
        F("pids", Ptr(Struct("specs.LinuxPids", [F("limit", INT64)])), omitempty=True),
        F(
            "blockIO",
            Ptr(
                Struct(
                    "specs.LinuxBlockIO",
                    [
                        F("weight", _OPT_UINT16, omitempty=True),
                        F("leafWeight", _OPT_UINT16, omitempty=True),
                        F(
                            "weightDevice",
                            Slice(
                                Struct(
                                    "specs.LinuxWeightDevice",
                                    [
                                        *_BLKIO_DEV,
                                        F("weight", _OPT_UINT16, omitempty=True),
                                        F("leafWeight", _OPT_UINT16, omitempty=True),
                                    ],
                                )
                            ),
                            omitempty=True,
                        ),
                        F("throttleReadBpsDevice", _THROTTLE, omitempty=True),
                        F("throttleWriteBpsDevice", _THROTTLE, omitempty=True),
                        F("throttleReadIOPSDevice", _THROTTLE, omitempty=True),
                        F("throttleWriteIOPSDevice", _THROTTLE, omitempty=True),
                    ],
                )
            ),
            omitempty=True,
        ),
        F(
            "hugepageLimits",
            Slice(Struct("specs.LinuxHugepageLimit", [F("pageSize", STRING), F("limit", UINT64)])),
            omitempty=True,
        ),
        F(
            "network",
            Ptr(
                Struct(
                    "specs.LinuxNetwork",
                    [
                        F("classID", _OPT_UINT32, omitempty=True),
                        F(
                            "priorities",
                            Slice(
                                Struct(
                                    "specs.LinuxInterfacePriority",
                                    [F("name", STRING), F("priority", UINT32)],
                                )
                            ),
                            omitempty=True,
                        ),
                    ],
                )
            ),
            omitempty=True,
        ),
        F(
            "rdma",
            Map(
                "string",
                Struct(
                    "specs.LinuxRdma",
                    [
                        F("hcaHandles", _OPT_UINT32, omitempty=True),
                        F("hcaObjects", _OPT_UINT32, omitempty=True),
                    ],
                ),
            ),
            omitempty=True,
        ),
        F("unified", Map("string", STRING), omitempty=True),
    ],
)

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
