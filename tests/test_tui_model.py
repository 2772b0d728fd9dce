"""The console's textual-free parts: view model, fixture source, log buffer, jump names,
and the TUI entry point's argument handling."""

from __future__ import annotations

import asyncio
import datetime as _dt

import pytest

from kata_console.cli import tui
from kata_console.engine.mounts.chainmodel import DELETED
from kata_console.screens.jump import resolve_target
from kata_console.sources.fixture_source import FixtureSource
from kata_console.sources.host_source import HostSource
from kata_console.sources.model import ConsoleError, LogLine, Operation, format_age
from kata_console.sources.rootfs_chains import _vd
from widgets.log_buffer import LogBuffer

T0 = _dt.datetime(2026, 3, 2, 10, 0, tzinfo=_dt.UTC)
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def line(text: str, source: str = "stdout") -> LogLine:
    return LogLine(T0, source, "info", text)


# ---------------------------------------------------------------------- fixture source


@pytest.fixture(scope="module")
def views():  # type: ignore[no-untyped-def]
    return asyncio.run(FixtureSource().load())


def test_fixture_chains_carry_kata_verdicts(views) -> None:  # type: ignore[no-untyped-def]
    by_id = {c.id: c for sb in views for c in sb.containers}
    assert by_id["web"].chain.kata_verdict is None and by_id["web"].chain.status == "ok"
    assert by_id["batch"].kata_error == (
        f"unsupported mount source {SNAP}/4/fsmeta.erofs for {SNAP}/4/fs"
    )
    assert by_id["legacy"].chain.status == DELETED
    assert by_id["legacy"].kata_error.startswith(
        f"unsupported mount source {SNAP}/6/layer.erofs (deleted)"
    )


def test_fixture_shared_layers_are_one_device_with_two_refs(views) -> None:  # type: ignore[no-untyped-def]
    web = next(sb for sb in views if sb.id == "sb-web")
    assert [(d.refcount, d.attach_count, d.address) for d in web.devices] == [
        (2, 2, "0:0"),
        (2, 2, "0:1"),
    ]
    assert web.container("web").devices == web.container("api").devices  # type: ignore[union-attr]
    batch = next(sb for sb in views if sb.id == "sb-batch")
    assert batch.devices == []  # a refused create plugs nothing


def test_fixture_is_deterministic() -> None:
    a, b = FixtureSource(), FixtureSource()
    assert asyncio.run(a.load()) == asyncio.run(b.load())
    assert a.now() == b.now() and [x.text for x in a.logs()] == [x.text for x in b.logs()]


def test_fixture_operations_follow_the_state_table() -> None:
    src = FixtureSource()
    seen: list[object] = []
    src.subscribe(seen.append)
    asyncio.run(src.run_op(Operation("pause_container", "sb-web", "web")))
    assert [getattr(e, "state", None) for e in seen if not isinstance(e, LogLine)] == ["paused"]
    with pytest.raises(ConsoleError, match="cannot start_container"):
        asyncio.run(src.run_op(Operation("start_container", "sb-web", "api")))
    with pytest.raises(ConsoleError, match="agent of sb-legacy is dead"):
        asyncio.run(src.run_op(Operation("stop_container", "sb-legacy", "legacy")))
    assert src.describe(Operation("start_container", "sb-web", "web")) == (
        'RPC StartContainer{container_id="web"}'
    )


def test_operation_validates_its_target() -> None:
    with pytest.raises(ValueError):
        Operation("start_container", "sb")
    with pytest.raises(ValueError):
        Operation("reboot_sandbox", "sb")
    assert Operation("stop_sandbox", "sb").target == "sb"


def test_host_source_is_read_only_and_empty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = HostSource(vc_root=str(tmp_path / "no-kata-here"))
    assert src.read_only and src.read_only_reason
    assert asyncio.run(src.load()) == []
    with pytest.raises(ConsoleError):
        asyncio.run(src.run_op(Operation("stop_sandbox", "x")))


def test_format_age_and_drive_names() -> None:
    assert [format_age(T0 - _dt.timedelta(seconds=s), T0) for s in (5, 600, 7200, 7260, 90000)] == [
        "5s",
        "10m",
        "2h",
        "2h1m",
        "1d1h",
    ]
    assert format_age(None, T0) == "-"
    assert [_vd(i) for i in (0, 25, 26, 27)] == ["/dev/vda", "/dev/vdz", "/dev/vdaa", "/dev/vdab"]


# ---------------------------------------------------------------------- log buffer


def test_buffer_is_bounded_and_counts_drops() -> None:
    buf = LogBuffer(max_lines=100)
    buf.extend(line(f"l{i}") for i in range(250))
    assert len(buf) == 100 and buf.dropped == 150
    assert buf.visible[0].line.text == "l150" and buf.visible[-1].line.text == "l249"


def test_filter_covers_the_whole_retained_buffer() -> None:
    buf = LogBuffer(max_lines=1000)
    buf.extend(line("needle" if i % 100 == 0 else f"hay {i}") for i in range(1000))
    buf.set_filter("NEEDLE")
    assert len(buf.visible) == 10
    buf.extend([line("needle late"), line("hay")])
    assert len(buf.visible) == 10  # oldest needle dropped, the late one kept
    assert buf.visible[-1].line.text == "needle late"
    buf.set_filter("")
    assert len(buf.visible) == 1000


def test_find_marks_and_wraps_around() -> None:
    buf = LogBuffer()
    buf.extend(line(t) for t in ["a", "x1", "b", "x2", "c"])
    buf.set_find("x")
    assert buf.matches == [1, 3]
    assert buf.next_match(None) == 1 and buf.next_match(1) == 3 and buf.next_match(3) == 1
    assert buf.next_match(1, backwards=True) == 3 and buf.next_match(None, backwards=True) == 3


def test_trimming_keeps_matches_pointing_at_the_right_lines() -> None:
    buf = LogBuffer(max_lines=5)
    buf.set_find("x")
    buf.extend(line(t) for t in ["x0", "a", "x2", "b", "c"])
    buf.extend([line("x5"), line("d")])
    assert [buf.visible[i].line.text for i in buf.matches] == ["x2", "x5"]


def test_wrap_rows() -> None:
    buf = LogBuffer()
    buf.set_layout(timestamps=False, wrap_width=20)
    buf.extend([line("short"), line("y" * 40)])
    assert buf.row_count == 1 + 3  # "stdout " prefix + 40 chars over width 20
    assert buf.first_row_of(1) == 1 and buf.row(3)[0] == 1


def test_text_for_save_and_copy() -> None:
    buf = LogBuffer()
    buf.extend([line("hello", "engine")])
    assert buf.text_of() == f"{T0.isoformat()} engine hello\n"


# ---------------------------------------------------------------------- jump / entry point


def test_resolve_target(views) -> None:  # type: ignore[no-untyped-def]
    assert resolve_target(":chains", views) == ("view", "chains")
    assert resolve_target("sb", views) == ("view", "sandboxes")
    assert resolve_target("sb-web", views) == ("sandbox", "sb-web")
    assert resolve_target("api", views) == ("container", "sb-web", "api")
    assert resolve_target("sb-web/web", views) == ("container", "sb-web", "web")
    assert resolve_target("leg", views) == ("container", "sb-legacy", "legacy")
    assert resolve_target("sb-", views) is None  # ambiguous prefix
    assert resolve_target("sb-web/nope", views) is None


def test_tui_rejects_bad_source_and_theme(capsys) -> None:  # type: ignore[no-untyped-def]
    assert tui.main(["--source", "bogus"]) == 2
    assert "unknown source 'bogus'" in capsys.readouterr().err
    assert tui.main(["--theme", "no-such-theme"]) == 2
    assert "unknown theme" in capsys.readouterr().err


def test_view_model_and_sources_do_not_import_textual() -> None:
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import sys\n"
        "import kata_console.sources.model, kata_console.sources.fixture_source\n"
        "import kata_console.sources.host_source, widgets.log_buffer\n"
        "print('textual' in {m.split('.')[0] for m in sys.modules})\n"
    )
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_rootfs_chains_on_a_proc_mounts_table_invent_no_ids() -> None:
    """A host whose table is /proc/mounts (no ids): the container's synthetic overlay is
    added in that format and its chain has no mount id, instead of a TypeError."""
    from backends.host.snapshot import SnapshotHost
    from kata_console.engine.mounts.escapes import encode_octal
    from kata_console.sources.rootfs_chains import RootfsSpec, rootfs_chains
    from tests.conftest import REPO

    host = SnapshotHost.load(REPO / "fixtures" / "hosts" / "demo.json")
    snap = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
    proc_mounts = "".join(
        f"{encode_octal(m.source or 'none')} {encode_octal(m.mountpoint)} {m.fstype} "
        f"{m.super_options or 'rw'} 0 0\n"
        for m in _mounts(host)
    )
    chains = rootfs_chains(host, proc_mounts, {"new": RootfsSpec((f"{snap}/1/fs",))})
    chain = chains["new"]
    assert chain.mount_id is None
    assert [layer.path for layer in chain.layers] == [f"{snap}/1/fs"]


def _mounts(host):  # type: ignore[no-untyped-def]
    from kata_console.engine.mounts.mounttable import MountTable

    table = MountTable(host.read_mountinfo())
    return list(table)
