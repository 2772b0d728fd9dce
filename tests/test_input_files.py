"""Every file the tool reads, given something that is not the file it expects.

Directories, devices, FIFOs nobody writes to, dangling symlinks, non-UTF-8 bytes, JSON
nested 100,000 deep, NaN and 5,000-digit numbers: each is one line on stderr and exit 2,
quickly, for every file option of every command.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kata_console.engine import jsonfile
from kata_console.engine.jsonfile import InputFileError, load_json, read_input
from kata_console.engine.lifecycle.plan import PlanError, load_plan
from kata_console.engine.persist.store import PersistError, PersistStore
from tests.robustkit import BASIC_PLAN, DEMO_HOST, KATA, kata, refused, user_env

DEEP = "[" * 100_000 + "]" * 100_000

#: every way of naming a file to read -> the argv that reads PATH
READERS = {
    "chains --snapshot": lambda p: ["chains", "--snapshot", p],
    "chains --mountinfo": lambda p: ["chains", "--mountinfo", p],
    "rootfs --snapshot": lambda p: ["rootfs", "--type", "overlay", "--snapshot", p],
    "rootfs --mountinfo": lambda p: ["rootfs", "--type", "overlay", "--mountinfo", p],
    "play PLAN": lambda p: ["play", p],
    "--keymap": lambda p: ["--keymap", p, "--source", "no-such-source"],
    "--source plan:": lambda p: [f"--source=plan:{p}"],
}
JSON_READERS = [k for k in READERS if "mountinfo" not in k]


def run_reader(reader: str, path: str) -> str:
    return refused(*READERS[reader](path), timeout=30)


@pytest.fixture
def odd(tmp_path: Path) -> dict[str, Path]:
    """One of each kind of path that is not a readable input file."""
    paths = {
        "directory": tmp_path / "adir",
        "dangling symlink": tmp_path / "dangling",
        "fifo": tmp_path / "fifo",
    }
    paths["directory"].mkdir()
    paths["dangling symlink"].symlink_to(tmp_path / "nowhere")
    os.mkfifo(paths["fifo"])
    return paths


@pytest.mark.parametrize("reader", READERS)
def test_a_directory_is_named_as_such(reader: str, odd: dict[str, Path]) -> None:
    line = run_reader(reader, str(odd["directory"]))
    assert "is a directory" in line and str(odd["directory"]) in line
    assert "Errno" not in line


@pytest.mark.parametrize("reader", READERS)
def test_dev_zero_is_refused_at_once(reader: str) -> None:
    started = time.monotonic()
    line = run_reader(reader, "/dev/zero")
    assert "/dev/zero: a character device" in line
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("reader", READERS)
def test_a_fifo_without_writer_does_not_hang(reader: str, odd: dict[str, Path]) -> None:
    # before: open() blocked forever waiting for a writer (the run hit its timeout)
    proc = kata(*READERS[reader](str(odd["fifo"])), timeout=30)
    assert "Traceback" not in proc.stderr
    if "mountinfo" in reader:  # an empty mount table is a valid (empty) answer
        assert proc.returncode == 0
    else:
        assert proc.returncode == 2 and "Expecting value" in proc.stderr


@pytest.mark.parametrize("reader", READERS)
def test_a_dangling_symlink_is_a_missing_file(reader: str, odd: dict[str, Path]) -> None:
    line = run_reader(reader, str(odd["dangling symlink"]))
    assert "no such" in line and "Errno" not in line


@pytest.mark.parametrize("reader", JSON_READERS)
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (DEEP.encode(), "nested too deeply"),
        (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8 (byte 0)"),
        (b'{"x": NaN}', "NaN is not a JSON number"),
        (b"[" + b"9" * 5000 + b"]", "a number too long"),
    ],
    ids=["deep-list", "deep-object", "not-utf8", "nan", "huge-int"],
)
def test_bad_json_is_one_line_naming_the_file(
    reader: str, content: bytes, reason: str, tmp_path: Path
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    line = run_reader(reader, str(path))
    assert str(path) in line and reason in line


def test_a_pipe_with_data_is_still_read(tmp_path: Path) -> None:
    """`--mountinfo <(ssh node cat /proc/1/mountinfo)`: a pipe is a fine input."""
    table = Path(DEMO_HOST).read_text()
    mountinfo = json.loads(table)["mountinfo"]["self"].encode()
    r, w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(w, mountinfo), os.close(w)))
    proc = subprocess.Popen(
        [str(KATA), "chains", "--mountinfo", f"/dev/fd/{r}", "--json"],
        pass_fds=[r],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=user_env(),
    )
    os.close(r)
    writer.start()
    out, err = proc.communicate(timeout=60)
    writer.join()
    assert proc.returncode == 0, err
    assert len(json.loads(out)["erofs_mounts"]) == 6


def test_read_input_bounds_what_it_reads(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    assert read_input(big, "thing", limit=11) == b"x" * 11
    with pytest.raises(InputFileError, match=r"big: larger than 0 MiB, not a thing"):
        read_input(big, "thing", limit=10)
    assert jsonfile.MAX_INPUT_BYTES >= 16 * 1024 * 1024  # room for a big host's mountinfo


def test_read_input_refuses_devices_and_nul_paths(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="/dev/null: a character device, not a plan"):
        read_input("/dev/null", "plan")
    with pytest.raises(InputFileError, match="contains a NUL byte"):
        read_input(str(tmp_path / "a\0b"), "plan")


def test_load_json_keeps_the_callers_words(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"missing\.json: no such plan file$"):
        load_plan(tmp_path / "missing.json")
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    sbs = tmp_path / "sbs" / "sb1"
    sbs.mkdir(parents=True)
    (sbs / "persist.json").write_text(DEEP)  # Go's decoder: "exceeded max depth"
    from kata_console.engine.lifecycle.sandboxstore import read_documents

    with pytest.raises(PersistError, match=r"sb1/persist\.json: exceeded max depth$"):
        read_documents(PersistStore(tmp_path / "sbs"), "sb1")
    with pytest.raises(ValueError, match=r"deep\.json: bad: nested too deeply"):
        load_json(deep, ValueError, missing="gone", invalid="bad")


def test_a_plan_host_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    for host, expected in (
        (str(tmp_path), "is a directory, not a host snapshot"),
        ("/dev/zero", "/dev/zero: a character device, not a host snapshot"),
        ("a\0b", 'field "host" contains a NUL byte'),
    ):
        plan = tmp_path / "plan.json"
        doc = {"sandbox": {"id": "sb1", "agent": "sim", "host": host}, "ops": []}
        plan.write_text(json.dumps(doc))
        assert expected in refused("play", str(plan))


# ------------------------------------------------------------------ files we write


@pytest.mark.parametrize("command", [["chains"], ["rootfs", "--type", "overlay"]])
def test_record_into_a_missing_directory_is_refused_before_any_work(
    command: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "rec.json"
    line = refused(*command, "--record", str(target))
    assert f"no such directory {target.parent}" in line
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", [["chains"], ["rootfs", "--type", "overlay"]])
def test_record_never_replaces_what_is_not_a_regular_file(
    command: list[str], odd: dict[str, Path]
) -> None:
    """An atomic save renames over its target: as root, `--record /dev/null` used to
    replace the device node with a regular file. A FIFO stands in for the device here."""
    for kind, what in (("directory", "a directory"), ("fifo", "a FIFO")):
        line = refused(*command, "--record", str(odd[kind]))
        assert f"{what}, not a file to write" in line
    assert stat.S_ISFIFO(os.lstat(odd["fifo"]).st_mode)
    line = refused(*command, "--record", str(odd["dangling symlink"]))
    assert "a symbolic link" in line
    assert odd["dangling symlink"].is_symlink()


def test_record_still_writes_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "rec.json"
    target.write_text("old")
    proc = kata("chains", "--record", str(target), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["format"] == "kata-console-host/1"
    assert [p.name for p in tmp_path.iterdir()] == ["rec.json"]  # no temp file left


@pytest.mark.parametrize(
    "args",
    [
        ["chains", "--snapshot", ""],
        ["chains", "--mountinfo", ""],
        ["chains", "--record", ""],
        ["play", ""],
        ["play", "--state-dir", "", BASIC_PLAN],
        ["--keymap", ""],
    ],
)
def test_an_empty_file_name_is_not_the_current_directory(args: list[str]) -> None:
    # before: `--snapshot ""` read the live host instead, `play ""` read "." as a plan
    assert "an empty file name" in refused(*args)


def test_state_dir_that_is_a_file_or_a_dangling_link(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert "not a directory" in refused("play", "--state-dir", str(afile), BASIC_PLAN)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    line = refused("play", "--state-dir", str(link), BASIC_PLAN)
    assert "a dangling symbolic link" in line


def test_names_too_long_for_the_kernel(tmp_path: Path) -> None:
    """ENAMETOOLONG is not one of the errors Path.exists() swallows."""
    long = str(tmp_path / ("x" * 300))
    assert "File name too long" in refused("play", "--state-dir", long, BASIC_PLAN)
    assert "File name too long" in refused("chains", "--snapshot", long)
    assert "File name too long" in refused("chains", "--record", long)
    assert "File name too long" in refused("--keymap", long)
