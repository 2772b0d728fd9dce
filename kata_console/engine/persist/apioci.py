"""OCI runtime-spec v1.2.1 `LinuxResources` (what Kata keeps as a container config's
`Resources`): JSON tags and `omitempty` as in `specs-go/config.go`, pointers where the spec
has them (a set `0` is written, an unset field is not).
"""

from __future__ import annotations

from kata_console.engine.persist.gojson import (
    BOOL,
    INT64,
    STRING,
    UINT16,
    UINT32,
    UINT64,
    F,
    Map,
    Ptr,
    Slice,
    Struct,
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
