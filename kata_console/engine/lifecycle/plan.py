"""Plans: a JSON list of lifecycle operations for `kata-console play` (and the console).

A plan is validated completely before anything runs, so a typo is reported as one line
naming the op (`ops[3] (start_container): missing field "id"`) instead of surfacing
halfway through a replay. IDs are checked with the persist rules, since they become
paths under the state directory.
"""

from __future__ import annotations

import json
import math
import signal as _signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kata_console.engine.deviceinfo import FILE_BACKED_MAJOR, DeviceInfo
from kata_console.engine.errors import INVALID_BLOCK_DRIVER, SUPPORTED_BLOCK_DRIVERS, EngineError
from kata_console.engine.jsonfile import load_json
from kata_console.engine.lifecycle.sim import RPC_NAMES
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist.store import validate_id

#: op -> (required fields, optional fields with defaults)
OPS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "create_sandbox": ((), {}),
    "start_sandbox": ((), {}),
    "stop_sandbox": ((), {"force": False}),
    "delete_sandbox": ((), {}),
    "create_container": (("id",), {"rootfs": None, "devices": [], "annotations": {}}),
    "start_container": (("id",), {}),
    "stop_container": (("id",), {"force": False}),
    "delete_container": (("id",), {}),
    "pause_container": (("id",), {}),
    "resume_container": (("id",), {}),
    "kill_container": (("id",), {"signal": "SIGTERM", "all": False}),
    "exec_container": (("id",), {"process": {"args": ["sh"]}}),
    "update_container": (("id",), {"resources": {}}),
    "stats_container": (("id",), {}),
    "inject_fault": (
        ("target", "method"),
        {"error": "injected failure", "code": "INTERNAL", "times": 1, "delay": 0.0},
    ),
}
FAULT_METHODS: dict[str, tuple[str, ...]] = {
    "agent": tuple(RPC_NAMES),
    "hypervisor": ("start_vm", "stop_vm", "check", "hotplug_add_block", "hotplug_remove_block"),
    "fs_share": ("share_rootfs", "unshare_rootfs", "unshare_mounts"),
}
FAULT_TARGETS = tuple(FAULT_METHODS)
SANDBOX_KEYS = {
    "id",
    "hypervisor",
    "agent",
    "block_device_driver",
    "host",
    "seed",
    "create_container_timeout",
    "dial_timeout",
    "agent_faults",
    "disable_block_device_use",
    "description",
}


PLAN_HYPERVISORS = ("auto", "qemu", "sim")

#: a plan's `host` for this machine's own kernel (the default)
LIVE_HOST = "live"


class PlanError(EngineError):
    """The plan cannot be run as written (exit 2)."""


@dataclass(slots=True)
class SandboxSpec:
    id: str
    #: "auto" (QEMU when its binary is on this machine, else "sim"), "qemu" or "sim"
    hypervisor: str = "auto"
    #: "spawn" (a simulated agent subprocess per sandbox), "sim" (in-process), "unix:///path"
    agent: str = "spawn"
    block_device_driver: str = "virtio-scsi"
    #: "live" (the live kernel, read-only, as `kata-console rootfs` reads it) or the path of
    #: a recorded host; EROFS layers are resolved against it, exactly as Kata would
    host: str = "live"
    seed: int | None = None
    create_container_timeout: float = 60.0
    #: Kata's `[agent.kata] dial_timeout` (seconds to reach the agent's socket)
    dial_timeout: float = 30.0
    #: faults armed in a spawned agent from its start (`RPC=error:CODE[:MSG]`, `RPC=delay:MS`,
    #: `RPC=crash`), to reproduce a failure through the real process boundary
    agent_faults: list[str] = field(default_factory=list)
    disable_block_device_use: bool = False


@dataclass(slots=True)
class Op:
    index: int
    op: str
    id: str | None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    sandbox: SandboxSpec
    ops: list[Op]


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    doc = load_json(
        path, PlanError, missing="no such plan file", invalid="not JSON", what="plan file"
    )
    return parse_plan(doc, base=path.parent)


def _type(value: Any, kind: type | tuple[type, ...], where: str, name: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wanted = " or ".join(
            {
                str: "a string",
                bool: "a boolean",
                int: "an integer",
                float: "a number",
                list: "a list",
                dict: "an object",
                type(None): "null",
            }[k]
            for k in kinds
        )
        raise PlanError(f"{where}: field {json.dumps(name)} must be {wanted}")
    return value


#: Kata's agent timeouts are uint32 seconds; nothing longer is a meaningful wait
MAX_SECONDS = 2**32 - 1
#: uid, gid, file mode and device numbers are 32-bit in the runtime's structs
MAX_U32 = 2**32 - 1


def _seconds(value: Any, where: str, name: str) -> float:
    """A duration: NaN, infinity or a negative wait would make a timer spin or never fire."""
    number = _type(value, (int, float), where, name)
    if isinstance(number, int) and not -MAX_SECONDS <= number <= MAX_SECONDS:
        number = math.inf  # float() of a huge int would raise OverflowError
    number = float(number)
    if not math.isfinite(number) or not 0 <= number <= MAX_SECONDS:
        raise PlanError(
            f"{where}: field {json.dumps(name)} must be a number of seconds from 0 to {MAX_SECONDS}"
        )
    return number


def _bounded(value: Any, where: str, name: str, low: int, high: int = MAX_U32) -> int:
    number = _type(value, int, where, name)
    if not low <= number <= high:
        raise PlanError(f"{where}: field {json.dumps(name)} must be from {low} to {high}")
    return int(number)


def parse_plan(doc: Any, base: Path | None = None) -> Plan:
    if not isinstance(doc, dict):
        raise PlanError('plan: must be a JSON object with "sandbox" and "ops"')
    unknown = set(doc) - {"sandbox", "ops", "description"}
    if unknown:
        raise PlanError(f"plan: unknown field {json.dumps(sorted(unknown)[0])}")
    sb = doc.get("sandbox")
    if not isinstance(sb, dict):
        raise PlanError("sandbox: missing or not an object")
    extra = set(sb) - SANDBOX_KEYS
    if extra:
        raise PlanError(f"sandbox: unknown field {json.dumps(sorted(extra)[0])}")
    if "id" not in sb:
        raise PlanError('sandbox: missing field "id"')
    try:
        validate_id("sandbox", sb["id"])
    except EngineError as exc:
        raise PlanError(f"sandbox: {exc}") from None
    spec = SandboxSpec(id=sb["id"])
    for key in ("hypervisor", "agent", "block_device_driver"):
        if key in sb:
            setattr(spec, key, _type(sb[key], str, "sandbox", key))
    if spec.hypervisor not in PLAN_HYPERVISORS:
        known = ", ".join(f'"{h}"' for h in PLAN_HYPERVISORS)
        raise PlanError(
            f"sandbox: unknown hypervisor {json.dumps(spec.hypervisor)}: one of {known}"
        )
    if spec.block_device_driver not in (*SUPPORTED_BLOCK_DRIVERS, ""):  # Go's config loader
        raise PlanError(f"sandbox: {INVALID_BLOCK_DRIVER % spec.block_device_driver}")
    spec.block_device_driver = spec.block_device_driver or "virtio-scsi"
    for key in ("agent", "host"):
        if isinstance(sb.get(key), str) and "\0" in sb[key]:  # open() would raise ValueError
            raise PlanError(f'sandbox: field "{key}" contains a NUL byte')
    if spec.agent.startswith("unix:") and not spec.agent.startswith("unix:///"):
        raise PlanError(f"sandbox: agent {spec.agent!r}: a socket address is unix:///ABSOLUTE/PATH")
    if sb.get("host") is not None:
        raw = _type(sb["host"], str, "sandbox", "host")
        if raw != LIVE_HOST:
            if not raw:
                raise PlanError('sandbox: field "host" must be "live" or a recorded host file')
            host = Path(raw)
            spec.host = str(host if host.is_absolute() or base is None else base / host)
    if sb.get("seed") is not None:
        spec.seed = _type(sb["seed"], int, "sandbox", "seed")
    for key in ("create_container_timeout", "dial_timeout"):
        if key in sb:
            setattr(spec, key, _seconds(sb[key], "sandbox", key))
    if "agent_faults" in sb:
        faults = _type(sb["agent_faults"], list, "sandbox", "agent_faults")
        spec.agent_faults = [_type(f, str, "sandbox", "agent_faults") for f in faults]
    if "disable_block_device_use" in sb:
        spec.disable_block_device_use = _type(
            sb["disable_block_device_use"], bool, "sandbox", "disable_block_device_use"
        )
    ops = doc.get("ops")
    if not isinstance(ops, list):
        raise PlanError('plan: missing field "ops" (a list)')
    return Plan(spec, [_parse_op(i, raw) for i, raw in enumerate(ops)])


def _parse_op(index: int, raw: Any) -> Op:
    where = f"ops[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
        raise PlanError(f'{where}: must be an object with an "op" string')
    name = raw["op"]
    if name not in OPS:
        raise PlanError(f"{where}: unknown op {json.dumps(name)} (known: {', '.join(OPS)})")
    where = f"{where} ({name})"
    required, optional = OPS[name]
    for key in required:
        if key not in raw:
            raise PlanError(f"{where}: missing field {json.dumps(key)}")
    extra = set(raw) - {"op", *required, *optional}
    if extra:
        raise PlanError(f"{where}: unknown field {json.dumps(sorted(extra)[0])}")
    args = {k: raw.get(k, v) for k, v in optional.items()}
    cid = None
    if "id" in required:
        cid = _type(raw["id"], str, where, "id")
        if cid:  # "" is kept: the engine's own "Container ID cannot be empty" is the point
            try:
                validate_id("container", cid)
            except EngineError as exc:
                raise PlanError(f"{where}: {exc}") from None
    if name == "create_container":
        args["rootfs"] = _rootfs(args["rootfs"], where)
        args["devices"] = [
            _device(d, f"{where} devices[{i}]")
            for i, d in enumerate(_type(args["devices"], list, where, "devices"))
        ]
        _type(args["annotations"], dict, where, "annotations")
    elif name in ("stop_sandbox", "stop_container"):
        _type(args["force"], bool, where, "force")
    elif name == "kill_container":
        args["signal"] = _signal_number(args["signal"], where)
        _type(args["all"], bool, where, "all")
    elif name == "inject_fault":
        _fault(raw, args, where)
    elif name in ("exec_container", "update_container"):
        _type(
            args["process" if name == "exec_container" else "resources"],
            dict,
            where,
            "process" if name == "exec_container" else "resources",
        )
    return Op(index, name, cid, args)


def _rootfs(raw: Any, where: str) -> RootFs:
    if raw is None:
        return RootFs()
    _type(raw, dict, where, "rootfs")
    extra = set(raw) - {"type", "source", "options", "target", "mounted"}
    if extra:
        raise PlanError(f"{where}: rootfs: unknown field {json.dumps(sorted(extra)[0])}")
    options = _type(raw.get("options", []), list, where, "rootfs.options")
    if not all(isinstance(o, str) for o in options):
        raise PlanError(f'{where}: field "rootfs.options" must be a list of strings')
    return RootFs(
        source=_type(raw.get("source", ""), str, where, "rootfs.source"),
        type=_type(raw.get("type", ""), str, where, "rootfs.type"),
        options=list(options),
        target=_type(raw.get("target", ""), str, where, "rootfs.target"),
        mounted=_type(raw.get("mounted", False), bool, where, "rootfs.mounted"),
    )


def _device(raw: Any, where: str) -> DeviceInfo:
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: must be an object")
    known = {
        "host_path",
        "container_path",
        "dev_type",
        "major",
        "minor",
        "read_only",
        "file_mode",
        "uid",
        "gid",
        "driver_options",
    }
    extra = set(raw) - known
    if extra:
        raise PlanError(f"{where}: unknown field {json.dumps(sorted(extra)[0])}")
    if "host_path" not in raw:
        raise PlanError(f'{where}: missing field "host_path"')
    host = _type(raw["host_path"], str, where, "host_path")
    return DeviceInfo(
        host_path=host,
        container_path=_type(raw.get("container_path", host), str, where, "container_path"),
        dev_type=_type(raw.get("dev_type", "b"), str, where, "dev_type"),
        major=_bounded(raw.get("major", FILE_BACKED_MAJOR), where, "major", FILE_BACKED_MAJOR),
        minor=_bounded(raw.get("minor", 0), where, "minor", 0),
        read_only=_type(raw.get("read_only", False), bool, where, "read_only"),
        file_mode=_bounded(raw.get("file_mode", 0), where, "file_mode", 0),
        uid=_bounded(raw.get("uid", 0), where, "uid", 0),
        gid=_bounded(raw.get("gid", 0), where, "gid", 0),
        driver_options=dict(_type(raw.get("driver_options", {}), dict, where, "driver_options")),
    )


def _signal_number(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65:
        return value
    if isinstance(value, str):
        name = value.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        try:
            return int(_signal.Signals[name])
        except KeyError:
            pass
    raise PlanError(f'{where}: field "signal": unknown signal {json.dumps(value)}')


def _fault(raw: dict[str, Any], args: dict[str, Any], where: str) -> None:
    target = _type(raw["target"], str, where, "target")
    if target not in FAULT_TARGETS:
        raise PlanError(f'{where}: field "target" must be one of {", ".join(FAULT_TARGETS)}')
    args["target"] = target
    args["method"] = _type(raw["method"], str, where, "method")
    if args["method"] not in FAULT_METHODS[target]:
        raise PlanError(
            f"{where}: {target} has no method {json.dumps(args['method'])} "
            f"(known: {', '.join(FAULT_METHODS[target])})"
        )
    _type(args["error"], (str, type(None)), where, "error")
    _type(args["code"], str, where, "code")
    if _type(args["times"], (int, type(None)), where, "times") is not None:
        _bounded(args["times"], where, "times", 1, MAX_U32)
    args["delay"] = _seconds(args["delay"], where, "delay")
