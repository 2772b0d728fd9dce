"""Engine error classes and the Go runtime's error texts, kept verbatim in one place.

Operators grep logs for these texts and compare what kata-console says with what the
shim said, so they are copied byte for byte from upstream main (`virtcontainers`
container.go, sandbox.go, kata_agent.go, monitor.go, `pkg/device`, `pkg/katautils`) and
never rephrased. Texts with `%` placeholders are Python format strings here; where Go
formats with `%q` the caller quotes with `gofmt.go_quote`. The few texts of our own say so.
"""

from __future__ import annotations

from kata_console.engine.gofmt import status_error


class EngineError(Exception):
    """An engine operation failed; `str()` is the text an operator sees (Go's when Go has one)."""


class PreconditionError(EngineError):
    """An operation refused in the current state, before any side effect."""


class NotFoundError(EngineError):
    """A sandbox or container ID that is empty or unknown."""


class DeviceError(EngineError):
    """A device manager refusal (`ErrDeviceNotExist`, `ErrDeviceNotAttached`, ...)."""


class DeviceNotExist(DeviceError):
    pass


class DeviceNotAttached(DeviceError):
    pass


class RemoveAttachedDevice(DeviceError):
    pass


# ----------------------------------------------------------------- sandbox (VC/sandbox.go)
SANDBOX_NOT_RUNNING = "Sandbox not running"
SANDBOX_DELETE = "Sandbox not ready, paused or stopped, impossible to delete"
DUPLICATED_CONTAINER = "Duplicated container: %s"
NEED_CONTAINER_ID = "Container ID cannot be empty"
NEED_SANDBOX = "Sandbox must be specified"
NO_SUCH_CONTAINER = "Container does not exist"
FIND_CONTAINER = (
    "Could not find the container %s from the sandbox %s containers list: " + NO_SUCH_CONTAINER
)
REMOVE_CONTAINER = (
    "Could not remove the container %s from the sandbox %s containers list: " + NO_SUCH_CONTAINER
)
INVALID_CONTAINER_CONFIG = "Invalid container configuration"
#: kata-console's own text: Go re-creates silently from persist.json instead
SANDBOX_ALREADY_CREATED = "Sandbox %s already created (state %s), impossible to create"
#: kata-console's own text: Go restores such a sandbox; this engine refuses to overwrite it
SANDBOX_EXISTS_ON_DISK = "Sandbox %s already exists on disk (%s), impossible to create"

# ----------------------------------------------------------------- container (VC/container.go)
CMD_EMPTY = "Cmd cannot be empty"
SANDBOX_NOT_RUNNING_VERB = "Sandbox not running, impossible to %s the container"
START_STATE = "Container not ready or stopped, impossible to start"
DELETE_STATE = "Container not ready or stopped, impossible to delete"
ENTER_STATE = "Container not ready or running, impossible to enter"
WAIT_STATE = "Container not ready or running, impossible to wait"
SIGNAL_SANDBOX_STATE = "Sandbox not ready or running, impossible to signal the container"
SIGNAL_STATE = "Container not ready, running or paused, impossible to signal the container"
#: Go reuses the signal text for winsize and ioStream (sic); we keep it for grep-ability
WINSIZE_STATE = "Container not ready or running, impossible to signal the container"
IOSTREAM_STATE = WINSIZE_STATE
PAUSE_STATE = "Container not running, impossible to pause"
RESUME_STATE = "Container not paused, impossible to resume"
#: lower-case `container` since upstream a577685a (2026-02); `%s` is the state's name
UPDATE_STATE = "container(%s) not running or ready, impossible to update"
INVALID_ANNOTATION = INVALID_CONTAINER_CONFIG + " Annotations %s %s"
#: sic: Go's spelling, wrapped in INVALID_ANNOTATION like the parse errors
SWAPPINESS_TOO_BIG = "swapiness should not bigger than 200"
FORCE_STOP = "invalid state transition to Stopped; continuing because force is set"
UNPLUG_DRIVE = "unplugging block device"
REMOVE_DEVICE_FAILED = "remove device failed"
ESRCH = "ESRCH: No such process"
STAT_FAILED = "stat %s failed: %s"
ROOTFS_DEVICE = "device manager failed to create rootfs device for %s: %s"
PATH_EMPTY = "Path cannot be empty"
MOUNT_POINT_NOT_FOUND = "Mount point not found"
MOUNT_NOT_FOUND = "Mount %s not found"
MOUNT_POINT_EMPTY = "Mount point cannot be empty"

# ----------------------------------------------------------------- devices (pkg/device)
DEVICE_NOT_EXIST = "device with specified ID hasn't been created"
DEVICE_NOT_ATTACHED = "device isn't attached"
REMOVE_ATTACHED_DEVICE = "can't remove attached device"
IDS_EXHAUSTED = "IDs are exhausted"
ATTACHED_TOO_MANY = "device was attached too many times"
DETACH_UNATTACHED = "detaching a device that wasn't attached"
NO_BLOCK_INDEX = "no available block index"
INDEX_TOO_BIG = "Index cannot be greater than %d, maximum of %d devices are supported"
#: `GetVirtDriveName` says "for drive"; `GetSCSIIdLun` does not
INDEX_NEGATIVE = "Index cannot be negative for drive"
INDEX_NEGATIVE_SCSI = "Index cannot be negative"
INDEX_NOT_SUPPORTED = "Index not supported"
EMPTY_DEVICE_PATH = "Empty path provided for device"
DEVICE_TYPE_MISMATCH = "device type mismatch, expect device type to be %s"
#: logged (info, field `path`), not returned: the unplug is skipped
CANNOT_REMOVE_PMEM = "Skip device: cannot hot remove PMEM devices"

# ----------------------------------------------------------------- pkg/katautils
ID_BLANK = "ID cannot be blank"
#: katautils `validCIDRegex`
VALID_CID_REGEX = "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"
#: `%q` of VALID_CID_REGEX is the same text in double quotes (nothing in it is escaped)
INVALID_ID = 'invalid container/sandbox ID (should match "' + VALID_CID_REGEX + '")'
#: `hypervisor.blockDeviceDriver()`: `%v` of the name and of the supported list
SUPPORTED_BLOCK_DRIVERS = ("virtio-scsi", "virtio-blk", "virtio-mmio", "nvdimm", "virtio-blk-ccw")
INVALID_BLOCK_DRIVER = (
    "Invalid hypervisor block storage driver %s specified (supported drivers: ["
    + " ".join(SUPPORTED_BLOCK_DRIVERS)
    + "])"
)

# ----------------------------------------------------------------- agent (VC/kata_agent.go)
DEAD_AGENT = "Dead agent"
CHECK_FAILED = "Failed to Check if grpc server is working: %s"
#: what a ttrpc call returns when its own deadline passes (`context.DeadlineExceeded`)
CONTEXT_DEADLINE = "context deadline exceeded"
#: agent RPC -> the desc of the DeadlineExceeded status Go returns when its deadline
#: passes; the irregular ones (GuestDetails, SetGuestDateTime, virtio-fs) are Go's own
_REGULAR_TIMEOUTS = (
    "Check", "CreateSandbox", "DestroySandbox", "CreateContainer", "StartContainer",
    "RemoveContainer", "ExecProcess", "SignalProcess", "WaitProcess", "UpdateContainer",
    "StatsContainer", "PauseContainer", "ResumeContainer", "TtyWinResize", "CloseStdin",
    "ListInterfaces", "ListRoutes", "UpdateInterface", "UpdateRoutes", "UpdateEphemeralMounts",
    "AddARPNeighbors", "OnlineCPUMem", "MemHotplugByProbe", "ReseedRandomDev", "CopyFile",
    "AddSwap", "GetOOMEvent", "GetMetrics", "GetIPTables", "SetIPTables", "SetPolicy",
)  # fmt: skip
TIMEOUT_DESC = {
    **{name: name + "Request timed out" for name in _REGULAR_TIMEOUTS},
    "WriteStdin": "WriteStreamRequest timed out",
    "GetVolumeStats": "VolumeStatsRequest timed out",
    "ResizeVolume": "ResizeVolumeRequest timed out",
    "GetGuestDetails": "GuestDetailsRequest request timed out",
    "SetGuestDateTime": "SetGuestDateTimeRequest request timed out",
    "RemoveStaleVirtiofsShareMounts": "removeStaleVirtiofsShareMounts timed out",
}
#: monitor.go: `errors.Wrapf(err, ...)` texts, the warning and markDead's info line
PING_AGENT = "failed to ping agent: %s"
PING_HYPERVISOR = "failed to ping hypervisor process: %s"
NOTIFY_ON_ERRORS = "notify on errors"
MARK_AGENT_DEAD = "mark agent dead"
WATCHER_FULL = "watcher channel is full, throw notify message"
#: Go `RemoteSockDialer`, the dialer Kata uses for a plain unix socket (a DeadlineExceeded
#: status); `connect` then marks the agent dead
DIAL_TIMEOUT = "timed out connecting to remote sock: %s"


def deadline_text(method: str) -> str:
    """What Go's runtime returns when agent RPC `method` misses its own deadline: the
    rewritten status where `kataAgent` has one, else ttrpc's bare context error."""
    desc = TIMEOUT_DESC.get(method)
    return status_error("DEADLINE_EXCEEDED", desc) if desc else CONTEXT_DEADLINE
