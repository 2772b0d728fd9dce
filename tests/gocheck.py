"""Go's own encoding/json as the judge of our persist files.

Kata's Go runtime reads persist.json with `json.NewDecoder(f).Decode(&state)`. The Go
toolchain (Debian's golang-go) compiles a small checker whose types are generated from our
schemas (`kata_console.engine.persist.api`), so the checker holds exactly the shapes we
claim Kata has; decoding Kata's own Go-written files with it and re-encoding them byte for
byte shows those shapes are Kata's. Each file given to the checker is decoded (refusing
unknown fields, which Kata would silently drop) and re-encoded the way Kata's `persist/fs`
writes it (`json.NewEncoder(f).Encode`), and the bytes compared with the file.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
from pathlib import Path

from kata_console.engine.persist import api
from kata_console.engine.persist import gojson as G


def go_binary() -> str | None:
    return shutil.which("go")


class _Gen:
    def __init__(self) -> None:
        self.decls: dict[str, str] = {}

    def type(self, t: G.GoType) -> str:
        if isinstance(t, G.Struct):
            return self.struct(t)
        if isinstance(t, G.Ptr):
            return "*" + self.type(t.elem)
        if isinstance(t, G.Slice):
            return "[]" + self.type(t.elem)
        if isinstance(t, G.Map):
            return f"map[{t.key}]{self.type(t.value)}"
        if isinstance(t, G.Raw):
            return "json.RawMessage"
        if t is G.TIME:
            return "time.Time"
        if t is G.IP:
            return "net.IP"
        if isinstance(t, G._Bytes):
            return "[]byte"
        if isinstance(t, G._Float):
            return f"float{t.bits}"
        if isinstance(t, G._Int):
            signed = t.lo < 0
            bits = (t.hi + 1).bit_length() - (0 if signed else 1)
            return f"{'int' if signed else 'uint'}{bits}"
        if isinstance(t, G._Bool):
            return "bool"
        return "string"

    def struct(self, t: G.Struct) -> str:
        if t is G.EMPTY_STRUCT:
            return "struct{}"
        name = "K" + t.go.replace(".", "_").replace("*", "P")  # exported: embeddable
        if name in self.decls:
            return name
        self.decls[name] = ""  # recursion guard
        if t.go == "types.PciPath":  # one unexported field, as Kata's
            self.decls[name] = f"type {name} struct {{ slots []uint8 }}"
            return name
        lines = []
        for i, f in enumerate(t.fields):
            go_type = self.type(f.type)
            if f.embedded:
                lines.append(f"\t{go_type}")
                continue
            tag = f.name + (",omitempty" if f.omitempty else "")
            lines.append(f'\tF{i}_{f.name} {go_type} `json:"{tag}"`')
        self.decls[name] = f"type {name} struct {{\n" + "\n".join(lines) + "\n}"
        return name


MAIN = """
func check(kind, path string) string {
	data, err := os.ReadFile(path)
	if err != nil { return "ERR " + err.Error() }
	var v interface{}
	if kind == "sandbox" { v = &%(sandbox)s{} } else { v = &%(container)s{} }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil { return "ERR " + err.Error() }
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil { return "ERR " + err.Error() }
	if !bytes.Equal(buf.Bytes(), data) {
		os.WriteFile(path+".go", buf.Bytes(), 0o600)
		return "DIFF (Go's bytes in " + path + ".go)"
	}
	return "OK"
}

func main() {
	for i := 1; i+1 < len(os.Args); i += 2 {
		fmt.Println(strings.ReplaceAll(check(os.Args[i], os.Args[i+1]), "\\n", " "))
	}
}
"""


def source() -> str:
    gen = _Gen()
    sandbox = gen.type(api.SANDBOX_STATE)
    container = gen.type(api.CONTAINER_STATE)
    head = (
        'package main\n\nimport (\n\t"bytes"\n\t"encoding/json"\n\t"fmt"\n\t"net"\n'
        '\t"os"\n\t"strings"\n\t"time"\n)\n\nvar _ = net.IP{}\nvar _ = time.Time{}\n\n'
    )
    return (
        head
        + "\n\n".join(gen.decls.values())
        + MAIN
        % {
            "sandbox": sandbox,
            "container": container,
        }
    )


def build(workdir: Path) -> Path:
    """Compile the checker with the standard library only (no network, no modules)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.go").write_text(source())
    env = {
        **os.environ,
        "GOCACHE": str(workdir / "cache"),
        "GOPATH": str(workdir / "gopath"),
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GO111MODULE": "off",
        "CGO_ENABLED": "0",
    }
    out = workdir / "persistcheck"
    subprocess.run(
        [go_binary() or "go", "build", "-o", str(out), "main.go"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def check(binary: Path, files: list[tuple[str, Path]]) -> list[str]:
    """One verdict per (kind, path): "OK", "DIFF ..." (Go's bytes written to `<path>.go`)
    or "ERR <Go's error>"."""
    args = [str(binary)]
    for kind, path in files:
        args += [kind, str(path)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.splitlines()


# --------------------------------------------------------------------------- random documents
_ALPHABET = 'ab/-_.:é€😀<>&"\\\u2028\u2029\t\n\r\x01\x1f\x7f 0'


def go_version() -> tuple[int, int]:
    out = subprocess.run([go_binary() or "go", "version"], capture_output=True, text=True)
    major, minor = out.stdout.split()[2].removeprefix("go").split(".")[:2]
    return int(major), int(minor)


def random_value(t: G.GoType, rng: random.Random, depth: int = 0) -> object:
    """A value of `t` as our decoder would produce it: every struct field present, nil and
    empty containers both, integers at their bounds, float32s of every magnitude."""
    if isinstance(t, G.Struct):
        return {f.name: random_value(f.type, rng, depth + 1) for f in t.fields}
    if isinstance(t, G.Ptr):
        return None if rng.random() < 0.4 or depth > 6 else random_value(t.elem, rng, depth)
    if isinstance(t, G.Slice):
        if rng.random() < 0.3:
            return None
        return [random_value(t.elem, rng, depth + 1) for _ in range(rng.randrange(3))]
    if isinstance(t, G.Map):
        if rng.random() < 0.3:
            return None
        if t.key == "string":
            keys: list[object] = [_text(rng) for _ in range(rng.randrange(4))]
        else:
            hi = (1 << 31) - 1 if t.key == "int" else (1 << 32) - 1
            keys = [rng.choice([0, 1, 2, 10, 11, 100, hi, rng.randrange(hi)]) for _ in range(4)]
        return {k: random_value(t.value, rng, depth + 1) for k in keys}
    if isinstance(t, G.Raw):
        return None
    if t is G.TIME:
        ns = rng.choice(["", ".5", ".123456789", ".000001", ".1"])
        zone = rng.choice(["Z", "+01:00", "-09:30"])
        return f"20{rng.randrange(10, 40)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}T0{rng.randrange(10)}:1{rng.randrange(10)}:2{rng.randrange(10)}{ns}{zone}"
    if t is G.IP:
        return rng.choice(["", "10.88.0.17", "fe80::1", "2001:db8::ff00:42:8329"])
    if isinstance(t, G._Bytes):
        return rng.choice([None, "//8AAA==", "AAAAAAAAAAAAAAAAAAAAAA==", ""])
    if isinstance(t, G._Float):
        return struct.unpack(
            "f",
            struct.pack(
                "f", rng.choice([0.0, 1.0, 0.1, 1.5, 1e-7, 3e21, 123456789.0, -2.5, 1e-6, 9.999e20])
            ),
        )[0]
    if isinstance(t, G._Int):
        return rng.choice([t.lo, t.hi, 0, 1, min(t.hi, 255), rng.randint(t.lo, t.hi)])
    if isinstance(t, G._Bool):
        return rng.random() < 0.5
    return _text(rng)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(8)))
