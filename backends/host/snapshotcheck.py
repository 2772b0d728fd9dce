"""The schema of a recorded host (`kata-console-host/1`), checked once when it is loaded.

A snapshot is input like any other: it may be hand-edited, truncated or written by a
newer tool. Replaying it asks the answers lazily, deep inside the resolver, so a wrong
type there would surface as a traceback far from its cause. Checking the whole recording
up front turns each such mistake into one line naming the file and the field path
(`calls.stat["/dev/vda"].mode: must be an integer`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

#: any answer may instead be the errno the live host gave (`{"errno": 2}`)
MAX_ERRNO = 4095
#: stat and loop fields are at most 64-bit unsigned in the kernel's structs
MAX_U64 = 2**64 - 1

#: field name -> required, for the two recorded structs (ports.FileStat, ports.LoopStatus)
FILE_STAT_FIELDS = {"mode": True, "dev": True, "ino": True, "rdev": False, "size": False}
LOOP_STATUS_FIELDS = {"device": True, "inode": True, "offset": True, "flags": True}


class SchemaError(ValueError):
    """One field of the recording is wrong; `str()` is `<path>: <what is wrong>`."""


def _key(path: str, key: str) -> str:
    """`calls.stat` for a name, `calls.stat["/dev/vda"]` for a path or any other key."""
    if key.isidentifier() and key.isascii():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _u64(value: Any, where: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchemaError(f"{where}: must be an integer")
    if not 0 <= value <= MAX_U64:
        raise SchemaError(f"{where}: must be from 0 to {MAX_U64}")


def _string(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise SchemaError(f"{where}: must be a string")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{where}: must be an object")
    return value


def _struct(value: Any, where: str, fields: dict[str, bool], strings: Iterable[str] = ()) -> None:
    obj = _object(value, where)
    text_fields = set(strings)
    for name in sorted(set(obj) - set(fields) - text_fields):
        raise SchemaError(f"{where}: unknown field {json.dumps(name, ensure_ascii=False)}")
    for name, required in {**fields, **dict.fromkeys(text_fields, True)}.items():
        if name not in obj:
            if required:
                raise SchemaError(f"{where}: missing field {json.dumps(name)}")
            continue
        check = _string if name in text_fields else _u64
        check(obj[name], f"{where}.{name}")


def _file_stat(value: Any, where: str) -> None:
    _struct(value, where, FILE_STAT_FIELDS)


def _loop_status(value: Any, where: str) -> None:
    _struct(value, where, LOOP_STATUS_FIELDS, strings=("file_name",))


def _string_list(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise SchemaError(f"{where}: must be a list of strings")
    for i, item in enumerate(value):
        _string(item, f"{where}[{i}]")


def _any(value: Any, where: str) -> None:
    """A method this checker has no schema for (a newer recording): left to its reader."""


#: method -> the check of one recorded answer (errno answers are checked for all)
ANSWERS: dict[str, Callable[[Any, str], None]] = {
    "read_text": _string,
    "read_bytes": _string,
    "realpath": _string,
    "listdir": _string_list,
    "stat": _file_stat,
    "lstat": _file_stat,
    "statfs_type": _u64,
    "loop_status": _loop_status,
}


def _answer(method: str, value: Any, where: str) -> None:
    if isinstance(value, dict) and "errno" in value:
        _errno_answer(value, where)
        return
    ANSWERS.get(method, _any)(value, where)


def _errno_answer(value: dict[str, Any], where: str) -> None:
    """`{"errno": n}`, with the text the host gave (`"strerror"`) when it had its own."""
    if set(value) - {"errno", "strerror"}:
        raise SchemaError(f'{where}: an errno answer has only the fields "errno" and "strerror"')
    code = value["errno"]
    if not isinstance(code, int) or isinstance(code, bool) or not 1 <= code <= MAX_ERRNO:
        raise SchemaError(f"{where}.errno: must be an errno from 1 to {MAX_ERRNO}")
    if "strerror" in value:
        _string(value["strerror"], f"{where}.strerror")


def validate_snapshot(data: Any, fmt: str, methods: Iterable[str]) -> None:
    """Raise `SchemaError` at the first field that does not match the recording format.

    `methods` are the recorded `HostView` calls the replaying host answers; a `calls`
    entry for anything else is refused (a typo would otherwise answer ENOENT silently).
    """
    doc = _object(data, "snapshot")
    if doc.get("format") != fmt:
        got = json.dumps(doc.get("format"), ensure_ascii=False)[:60]
        raise SchemaError(f"format: must be {json.dumps(fmt)} (a recorded host), not {got}")
    if "description" in doc:
        _string(doc["description"], "description")
    mountinfo = _object(doc.get("mountinfo", {}), "mountinfo")
    for key, text in mountinfo.items():
        if key != "self" and not (key.isascii() and key.isdigit()):
            raise SchemaError(f'{_key("mountinfo", key)}: a key is "self" or a process id')
        if isinstance(text, dict) and "errno" in text:
            _errno_answer(text, _key("mountinfo", key))  # a table that could not be read
        elif isinstance(text, dict) and set(text) == {"same_as"}:
            # a shim in the host's mount namespace: its table is another key's, stored once
            if not isinstance(mountinfo.get(text["same_as"]), str):
                raise SchemaError(f"{_key('mountinfo', key)}.same_as: must name a recorded table")
        else:
            _string(text, _key("mountinfo", key))
    calls = _object(doc.get("calls", {}), "calls")
    known = tuple(methods)
    for method, answers in calls.items():
        where = _key("calls", method)
        if method not in known:
            raise SchemaError(f"{where}: unknown call (known: {', '.join(known)})")
        for path, value in _object(answers, where).items():
            _answer(method, value, _key(where, path))
    if "inspect" in doc:
        _inspect(doc["inspect"], "inspect")


# The `inspect` facts: field -> (kind, required). Kinds: "str", "int", "num" (a finite
# number), "bool", "list[str]", "list[int]", "list[num]", "counters" (name -> int),
# "figures" (name -> finite number); a trailing "?" also allows null.
_HOST = {
    "hostname": ("str", False),
    "kernel": ("str", False),
    "uptime": ("num", False),
    "cpus": ("int", False),
    "load": ("list[num]", False),
    "mem_total": ("int", False),
    "mem_available": ("int", False),
}
_PROCESS = {
    "pid": ("int", True),
    "name": ("str", True),
    "role": ("str", True),
    "sandbox_id": ("str?", True),
    "cmdline": ("list[str]", False),
    "ppid": ("int?", False),
    "status": ("str", False),
    "create_time": ("num?", False),
    "cpu_percent": ("num?", False),
    "rss": ("int?", False),
    "threads": ("int?", False),
    "fds": ("int?", False),
    "children": ("list[int]", False),
    "error": ("str?", False),
}
_LINK = {
    "index": ("int", True),
    "name": ("str", True),
    "kind": ("str", False),
    "tun_type": ("str", False),
    "mac": ("str", False),
    "mtu": ("int", False),
    "operstate": ("str", False),
    "peer_index": ("int?", False),
    "peer_netnsid": ("int?", False),
    "stats": ("counters", False),
}
_REDIRECT = {
    "src": ("str", True),
    "dst": ("str", True),
    "action": ("str", False),
    "packets": ("int", False),
    "bytes": ("int", False),
    "overlimits": ("int", False),
}
_SHIM = {
    "socket": ("str", True),
    "reachable": ("bool", False),
    "agent_url": ("str?", False),
    "error": ("str?", False),
    "metrics": ("figures?", False),
}
#: an integer here is a pid, a count, a size: within what the kernel's u64 holds
_INT_RANGE = (-(2**63), 2**64 - 1)


def _finite(value: Any) -> bool:
    import math

    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and _INT_RANGE[0] <= value <= _INT_RANGE[1]
    )


def _kind_ok(kind: str, value: Any) -> bool:
    if kind.endswith("?"):
        return value is None or _kind_ok(kind[:-1], value)
    checks = {
        "str": lambda v: isinstance(v, str),
        "int": _is_int,
        "num": _finite,
        "bool": lambda v: isinstance(v, bool),
        "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "list[int]": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
        "list[num]": lambda v: isinstance(v, list) and all(_finite(x) for x in v),
        "counters": lambda v: isinstance(v, dict) and all(_is_int(x) for x in v.values()),
        "figures": lambda v: isinstance(v, dict) and all(_finite(x) for x in v.values()),
    }
    return checks[kind](value)


_WORDS = {
    "str": "a string",
    "int": "an integer",
    "num": "a finite number",
    "bool": "true or false",
    "list[str]": "a list of strings",
    "list[int]": "a list of integers",
    "list[num]": "a list of numbers",
    "counters": "an object of integers",
    "figures": "an object of finite numbers",
}


def _facts(value: Any, where: str, spec: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    """A recorded facts object: required fields present, every known field of its kind."""
    obj = _object(value, where)
    for name, (kind, required) in spec.items():
        if name not in obj:
            if required:
                raise SchemaError(f"{_key(where, name)}: missing")
            continue
        if not _kind_ok(kind, obj[name]):
            words = _WORDS[kind.rstrip("?")] + (" or null" if kind.endswith("?") else "")
            raise SchemaError(f"{_key(where, name)}: must be {words}")
    return obj


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(f"{where}: must be a list")
    return value


def _inspect(value: Any, where: str) -> None:
    """The `inspect` facts (processes, namespaces, shim sockets, host) of a recording."""
    doc = _object(value, where)
    for root in ("vc_root", "kata_root"):
        if root in doc:
            _string(doc[root], f"{where}.{root}")
    if doc.get("host") is not None:
        _facts(doc["host"], f"{where}.host", _HOST)
    for i, p in enumerate(_list(doc.get("processes") or [], f"{where}.processes")):
        _facts(p, f"{where}.processes[{i}]", _PROCESS)
    for netns, facts in _object(doc.get("netns") or {}, f"{where}.netns").items():
        here = _key(f"{where}.netns", netns)
        obj = _facts(facts, here, {"netns": ("str", True), "error": ("str?", False)})
        for j, link in enumerate(_list(obj.get("links") or [], f"{here}.links")):
            _facts(link, f"{here}.links[{j}]", _LINK)
        for j, r in enumerate(_list(obj.get("redirects") or [], f"{here}.redirects")):
            _facts(r, f"{here}.redirects[{j}]", _REDIRECT)
    if "doctor" in doc:
        _doctor(doc["doctor"], f"{where}.doctor")
    for socket, calls in _object(doc.get("shim") or {}, f"{where}.shim").items():
        here = _key(f"{where}.shim", socket)
        for call, facts in _object(calls, here).items():
            if call not in ("agent_url", "metrics"):
                raise SchemaError(f"{_key(here, call)}: unknown call (agent_url, metrics)")
            _facts(facts, _key(here, call), _SHIM)


_LOOP = {
    "name": ("str", True),
    "backing_file": ("str", True),
    "deleted": ("bool", False),
    "majmin": ("str?", False),
}
_FILE = {
    "path": ("str", True),
    "dev": ("int?", False),
    "ino": ("int?", False),
    "error": ("str?", False),
}


def _netns(facts: Any, here: str) -> None:
    obj = _facts(facts, here, {"netns": ("str", True), "error": ("str?", False)})
    for j, link in enumerate(_list(obj.get("links") or [], f"{here}.links")):
        _facts(link, f"{here}.links[{j}]", _LINK)
    for j, r in enumerate(_list(obj.get("redirects") or [], f"{here}.redirects")):
        _facts(r, f"{here}.redirects[{j}]", _REDIRECT)


def _doctor(value: Any, where: str) -> None:
    """doctor's extra facts (engine.inspect.extras): loops, file stats, cgroups, a second
    read of each namespace."""
    doc = _object(value, where)
    for i, loop in enumerate(_list(doc.get("loops") or [], f"{where}.loops")):
        _facts(loop, f"{where}.loops[{i}]", _LOOP)
    for path, facts in _object(doc.get("files") or {}, f"{where}.files").items():
        _facts(facts, _key(f"{where}.files", path), _FILE)
    for key in ("cgroups", "errors"):
        if not _kind_ok("list[str]", doc.get(key) or []):
            raise SchemaError(f"{where}.{key}: must be a list of strings")
    for netns, facts in _object(doc.get("netns_again") or {}, f"{where}.netns_again").items():
        _netns(facts, _key(f"{where}.netns_again", netns))
