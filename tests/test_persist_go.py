"""Go reads what we write: every persist.json the engine writes is decoded by Go's
encoding/json into Kata's shapes and re-encoded by Go to the same bytes (tests/gocheck.py).

Needs the Go toolchain (`make test` installs Debian's golang-go when root); without it the
tests skip and say so.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.lifecycle.sandboxstore import restore_sandbox
from kata_console.engine.lifecycle.sim import SimAgent, SimHypervisor
from kata_console.engine.persist import store as P
from tests import gocheck
from tests.conftest import REPO
from tests.enginekit import Kit

GO_SAMPLE = REPO / "fixtures" / "persist" / "go-sbs"
GO_SID = "go-erofs-1"

pytestmark = pytest.mark.skipif(
    gocheck.go_binary() is None, reason="the Go toolchain (golang-go) is not installed"
)


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gocheck.build(tmp_path_factory.mktemp("gocheck"))


def _files(root: Path) -> list[tuple[str, Path]]:
    out = []
    for path in sorted(root.rglob("persist.json")):
        kind = "sandbox" if (path.parent.parent == root) else "container"
        out.append((kind, path))
    return out


def test_the_checker_reproduces_kata_go_files(checker: Path) -> None:
    """Kata's own files decode into the generated types and come back byte for byte: our
    schemas are Kata's shapes (field order, types, omitempty)."""
    files = _files(GO_SAMPLE)
    assert len(files) == 3
    assert gocheck.check(checker, files) == ["OK"] * 3


def test_the_checker_refuses_what_go_refuses(checker: Path, tmp_path: Path) -> None:
    """Control: the bug Go hit (a string PCIPath) and a key Kata has not are caught."""
    src = (GO_SAMPLE / GO_SID / "persist.json").read_text()
    bad = tmp_path / "pci.json"
    bad.write_text(src.replace('"PCIPath":{}', '"PCIPath":"02/01"', 1))
    extra = tmp_path / "extra.json"
    extra.write_text(src.replace('"State":"running"', '"State":"running","Foo":1', 1))
    spaced = tmp_path / "spaced.json"
    spaced.write_text(json.dumps(json.loads(src)) + "\n")
    verdicts = gocheck.check(checker, [("sandbox", bad), ("sandbox", extra), ("sandbox", spaced)])
    assert verdicts[0].startswith("ERR json: cannot unmarshal string into Go struct field")
    assert "PCIPath" in verdicts[0]
    assert verdicts[1] == 'ERR json: unknown field "Foo"'
    assert verdicts[2].startswith("DIFF ")


async def test_go_reads_every_file_the_engine_writes(checker: Path, tmp_path: Path) -> None:
    """Sandboxes on virtio-blk and virtio-scsi, shared layers, a block device, stopped and
    deleted containers, annotations and resources with HTML characters and unicode."""
    verdicts: list[str] = []
    for driver in ("virtio-blk", "virtio-scsi"):
        root = tmp_path / driver
        kit = Kit(root, driver=driver)
        await kit.up()
        await kit.container("c1", 1, 2)
        await kit.container("c2", 2, devices=[DeviceInfo("/dev/sda", "/dev/sda", "b", 8, 0)])
        c3 = await kit.container("c3", 3)
        c3.config.annotations.update({"a<b>&c": "é\u2028\t\n", "io.kubernetes.pod": "x"})
        c3.config.resources.update({"cpu": {"shares": 2, "quota": -1}, "memory": {"swap": 0}})
        c3._config_fragment = None
        kit.sandbox.configs_changed("c3")
        await kit.sandbox.start_container("c1")
        await kit.sandbox.stop_container("c3")
        await kit.sandbox.delete_container("c3")
        await kit.sandbox.save()
        files = _files(root)
        assert len(files) == 3  # sandbox, c1, c2
        verdicts += gocheck.check(checker, files)
    assert verdicts == ["OK"] * len(verdicts)


async def test_go_reads_a_go_sandbox_we_restored_and_changed(checker: Path, tmp_path: Path) -> None:
    root = tmp_path / "sbs"
    shutil.copytree(GO_SAMPLE, root)
    doc = root / GO_SID / "persist.json"
    doc.write_text(doc.read_text().replace('"NumVCPUsF":1', '"NumVCPUsF":0.1', 1))
    sb = restore_sandbox(
        P.PersistStore(root, fsync=False),
        GO_SID,
        agent=SimAgent(),
        hypervisor=SimHypervisor(),
    )
    await sb.stop_container("app", force=True)  # the sim agent never saw this guest
    await sb.delete_container("app")
    files = _files(root)
    assert [p.parent.name for _, p in files] == [GO_SID, GO_SID]
    assert gocheck.check(checker, files) == ["OK", "OK"]
    assert '"NumVCPUsF":0.1,' in doc.read_text()


def test_go_agrees_with_our_encoder_on_random_documents(checker: Path, tmp_path: Path) -> None:
    """Differential: 300 random documents of every persist struct (strings with HTML
    characters, U+2028, control characters and astral unicode, integers at their bounds,
    float32s of every magnitude, nil and empty slices and maps, nil embedded pointers),
    encoded by us; Go decodes each and re-encodes the same bytes."""
    from kata_console.engine.persist import api
    from kata_console.engine.persist import gojson as G

    rng = random.Random(20261201)
    # Go before 1.22 wrote \b and \f as \u0008 and \u000c; Kata builds with a newer Go
    # and so do we: the random texts leave out those two characters (gocheck._ALPHABET)
    files = []
    for i in range(300):
        kind, schema = [("sandbox", api.SANDBOX_STATE), ("container", api.CONTAINER_STATE)][i % 2]
        value = gocheck.random_value(schema, rng)
        text = G.encode(schema, value) + "\n"
        path = tmp_path / f"{i}.json"
        path.write_text(text)
        assert G.encode(schema, G.decode(schema, text)) + "\n" == text  # and we read it back
        files.append((kind, path))
    verdicts = gocheck.check(checker, files)
    bad = [(str(p), v) for (_, p), v in zip(files, verdicts, strict=True) if v != "OK"]
    assert bad == []


async def test_a_config_entry_without_container_state_is_kept_as_read(
    checker: Path, tmp_path: Path
) -> None:
    """A Go sandbox whose `app` container lost its persist.json: the engine cannot run
    `app`, but its `Config.ContainerConfigs` entry is written back byte for byte (a save
    drops nothing it read), Go reads the result, and `app` stays a taken ID."""
    from kata_console.engine import errors as E
    from kata_console.engine.lifecycle.container import ContainerConfig

    root = tmp_path / "sbs"
    shutil.copytree(GO_SAMPLE, root)
    (root / GO_SID / "app" / "persist.json").unlink()
    (root / GO_SID / "app").rmdir()
    doc = root / GO_SID / "persist.json"
    before = json.loads(doc.read_text())["Config"]["ContainerConfigs"]
    sb = restore_sandbox(
        P.PersistStore(root, fsync=False), GO_SID, agent=SimAgent(), hypervisor=SimHypervisor()
    )
    assert sorted(sb.containers) == [GO_SID]
    assert [cfg["ID"] for cfg in sb.orphan_configs] == ["app"]
    with pytest.raises(E.PreconditionError) as refused:
        await sb.create_container(ContainerConfig("app"))
    assert str(refused.value) == "Duplicated container: app"
    await sb.stop_container(GO_SID, force=True)  # forces a save of the sandbox document
    after = json.loads(doc.read_text())["Config"]["ContainerConfigs"]
    assert [c["ID"] for c in after] == [GO_SID, "app"]
    assert after[1] == next(c for c in before if c["ID"] == "app")
    assert gocheck.check(checker, _files(root)) == ["OK", "OK"]


def test_go_and_we_read_odd_bytes_alike(checker: Path, tmp_path: Path) -> None:
    """Bytes a damaged or hand-edited file may hold: an unpaired surrogate escape, invalid
    UTF-8 inside a string (and as a map key), text after the document. Go's decoder turns
    the first two into U+FFFD and stops after the first value; we must decode to the
    same value, so our re-encoding equals Go's byte for byte."""
    from kata_console.engine.persist import api
    from kata_console.engine.persist import gojson as G

    src = (GO_SAMPLE / GO_SID / "persist.json").read_bytes()
    data = json.loads(src)
    assert data["Network"]["NetworkID"] and data["Config"]["ContainerConfigs"][0]["Annotations"]
    cases = {
        "surrogate": src.replace(b'"NetworkID":"', b'"NetworkID":"\\ud800x\\udfff', 1),
        "utf8": src.replace(b'"NetworkID":"', b'"NetworkID":"\xff\xc3(', 1),
        "key": src.replace(b'"Annotations":{"', b'"Annotations":{"\xe2\x82', 1),
        "encoded-surrogate": src.replace(b'"NetworkID":"', b'"NetworkID":"\xed\xa0\x80', 1),
        "truncated": src.replace(b'"NetworkID":"', b'"NetworkID":"a\xf0\x9f\x98', 1),
        "trailing": src.rstrip(b"\n") + b' {"State":"ready"} junk\n',
    }
    files = []
    for name, raw in cases.items():
        assert raw != src, name
        path = tmp_path / f"{name}.json"
        path.write_bytes(raw)
        files.append(("sandbox", path))
    verdicts = gocheck.check(checker, files)
    for (_, path), verdict in zip(files, verdicts, strict=True):
        assert verdict.startswith("DIFF"), (path.name, verdict)  # Go did change the bytes
        ours = G.encode(api.SANDBOX_STATE, G.decode(api.SANDBOX_STATE, path.read_bytes()))
        assert (ours + "\n").encode() == Path(f"{path}.go").read_bytes(), path.name
