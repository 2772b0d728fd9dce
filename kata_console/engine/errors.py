"""Engine error classes and the Go runtime's error texts, kept verbatim in one place.

Operators grep logs for these texts and compare what kata-console says with what the
shim said, so they are copied byte for byte from `virtcontainers` (kata-engine.md §1, §2)
and never rephrased. Texts with `%` placeholders are Python format strings here.
"""

from __future__ import annotations


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
#: the seed (container.go#L1176) capitalises `Container`; the reference quotes it lower-case
UPDATE_STATE = "Container(%s) not running or ready, impossible to update"
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
INDEX_NEGATIVE = "Index cannot be negative for drive"
INDEX_NOT_SUPPORTED = "Index not supported"
EMPTY_DEVICE_PATH = "Empty path provided for device"
DEVICE_TYPE_MISMATCH = "device type mismatch, expect device type to be %s"
CANNOT_REMOVE_PMEM = "cannot hot remove PMEM devices"
