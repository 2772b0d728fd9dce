"""Between the engine's plain data (ports.py dataclasses, OCI JSON) and agent protobufs.

The engine speaks OCI runtime-spec JSON (`process.args`, `linux.resources.memory.limit`)
while Kata's oci.proto spells the same fields `Process.Args`, `Linux.Resources.Memory.Limit`.
Upstream's names differ from the JSON ones only in case (plus `ociVersion` -> `Version`),
so one case-insensitive walk over the message descriptor converts any part of a spec,
and also accepts dicts already in proto spelling. Unknown keys are ignored, as Kata's
own Go conversion ignores what oci.proto does not carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from backends.agent.generated import agent_pb2, oci_pb2
from kata_console.engine.ports import (
    CreateContainerRequest,
    CreateSandboxRequest,
    GuestDetails,
    GuestDevice,
    Storage,
)

M = TypeVar("M", bound=Message)
_ALIASES = {"ociversion": "version"}


def _fields(desc: Descriptor) -> dict[str, FieldDescriptor]:
    return {f.name.lower(): f for f in desc.fields}


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def fill(message: M, data: Mapping[str, Any]) -> M:
    """Fill `message` from a JSON-ish mapping, matching keys to fields case-insensitively."""
    fields = _fields(message.DESCRIPTOR)
    for key, value in data.items():
        field = fields.get(_ALIASES.get(key.lower(), key.lower()))
        if field is None or value is None:
            continue
        target = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_field.message_type is not None:
                    fill(target[k], v)
                else:
                    target[k] = v
        elif field.is_repeated:
            if field.message_type is not None:
                for item in value:
                    fill(target.add(), item)
            else:
                target.extend(value)
        elif field.message_type is not None:
            fill(target, value)
        elif field.enum_type is not None and isinstance(value, str):
            number = field.enum_type.values_by_name.get(value)
            if number is None:
                raise ValueError(f"{field.full_name}: unknown value {value!r}")
            setattr(message, field.name, number.number)
        else:
            setattr(message, field.name, value)
    return message


def to_dict(message: Message) -> dict[str, Any]:
    """Every field (defaults included), as native Python values: numbers stay numbers,
    unlike `json_format.MessageToDict`, which turns 64-bit integers into strings; enums
    become their names (which `fill` accepts back)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            is_msg = field.message_type.fields_by_name["value"].message_type is not None
            out[field.name] = {k: to_dict(v) if is_msg else v for k, v in value.items()}
        elif field.is_repeated:
            is_msg = field.message_type is not None
            out[field.name] = [to_dict(v) if is_msg else v for v in value]
        elif field.message_type is not None:
            out[field.name] = to_dict(value)
        elif field.enum_type is not None:
            known = field.enum_type.values_by_number.get(value)
            out[field.name] = known.name if known is not None else value
        else:
            out[field.name] = value
    return out


def string_user(text: str) -> agent_pb2.StringUser | None:
    """`uid[:gid[:g1,g2]]` -> StringUser (the port carries the user as one string)."""
    if not text:
        return None
    uid, _, rest = text.partition(":")
    gid, _, extra = rest.partition(":")
    return agent_pb2.StringUser(uid=uid, gid=gid, additionalGids=[g for g in extra.split(",") if g])


def storage(s: Storage) -> agent_pb2.Storage:
    out = agent_pb2.Storage(
        driver=s.driver,
        driver_options=s.driver_options,
        source=s.source,
        fstype=s.fstype,
        options=s.options,
        mount_point=s.mount_point,
        shared=s.shared,
    )
    if isinstance(s.fs_group, agent_pb2.FSGroup):
        out.fs_group.CopyFrom(s.fs_group)
    elif isinstance(s.fs_group, Mapping):
        fill(out.fs_group, s.fs_group)
    elif isinstance(s.fs_group, int):
        out.fs_group.group_id = s.fs_group
    return out


def from_storage(s: agent_pb2.Storage) -> Storage:
    fs_group = to_dict(s.fs_group) if s.HasField("fs_group") else None
    return Storage(
        driver=s.driver,
        source=s.source,
        fstype=s.fstype,
        mount_point=s.mount_point,
        options=list(s.options),
        driver_options=list(s.driver_options),
        fs_group=fs_group,
        shared=s.shared,
    )


def device(d: GuestDevice) -> agent_pb2.Device:
    return agent_pb2.Device(
        id=d.id, type=d.type, vm_path=d.vm_path, container_path=d.container_path, options=d.options
    )


def from_device(d: agent_pb2.Device) -> GuestDevice:
    return GuestDevice(d.id, d.type, d.vm_path, d.container_path, list(d.options))


def create_sandbox(req: CreateSandboxRequest) -> agent_pb2.CreateSandboxRequest:
    """Kernel modules are Kata config strings, `"name param=value ..."`, split like Kata."""
    modules = []
    for spec in req.kernel_modules:
        name, *params = spec.split()
        modules.append(agent_pb2.KernelModule(name=name, parameters=params))
    return agent_pb2.CreateSandboxRequest(
        hostname=req.hostname,
        dns=req.dns,
        storages=[storage(s) for s in req.storages],
        sandbox_pidns=req.sandbox_pidns,
        sandbox_id=req.sandbox_id,
        guest_hook_path=req.guest_hook_path,
        kernel_modules=modules,
    )


def create_container(req: CreateContainerRequest) -> agent_pb2.CreateContainerRequest:
    out = agent_pb2.CreateContainerRequest(
        container_id=req.container_id,
        exec_id=req.exec_id,
        devices=[device(d) for d in req.devices],
        storages=[storage(s) for s in req.storages],
        OCI=fill(oci_pb2.Spec(), req.oci),
        sandbox_pidns=req.sandbox_pidns,
    )
    user = string_user(req.string_user)
    if user is not None:
        out.string_user.CopyFrom(user)
    return out


def guest_details(resp: agent_pb2.GuestDetailsResponse) -> GuestDetails:
    details = resp.agent_details
    return GuestDetails(
        mem_block_size_bytes=resp.mem_block_size_bytes,
        support_mem_hotplug_probe=resp.support_mem_hotplug_probe,
        agent_version=details.version,
        supports_seccomp=details.supports_seccomp,
        device_handlers=list(details.device_handlers),
        storage_handlers=list(details.storage_handlers),
    )
