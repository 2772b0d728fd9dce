"""The k9s-grade features, driven with Pilot: sort and filter on every table, a navigation
stack that Esc walks back, `:` with prefixes and completion, the describe view, copying a
path, exporting the CLI's JSON, and the all-logs view's sandbox/container column.

Assertions are on what the user gets (rows in order, the screen on top, the status line,
the clipboard, the file written) against independent truth: the recording's own bytes,
the CLI's own `--json` output, the fixture's lines.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from rich.text import Text

from kata_console.cli import main as cli_main
from kata_console.screens.chains import ChainsScreen
from kata_console.screens.container import ContainerScreen
from kata_console.screens.describe import DescribeScreen
from kata_console.screens.jump import JumpScreen, complete, resolve
from kata_console.screens.logs import LogsScreen
from kata_console.screens.sandbox import SandboxScreen
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.sources.model import LogLine
from tests.test_tui_host import NODE, node_app
from tests.test_tui_pilot import T0
from tests.test_tui_prompts import footer_keys
from tests.tui_support import SIZE, make_app
from widgets.chain_tree import ChainTree
from widgets.device_table import DeviceTable
from widgets.document_view import DocumentView
from widgets.link_table import LinkTable
from widgets.log_pane import LogPane
from widgets.process_table import ProcessTable
from widgets.resource_table import ResourceTable
from widgets.row_query import sort_key
from widgets.status_line import StatusLine

ALL = ["sb-web", "sb-batch", "sb-legacy"]
REPO = Path(__file__).resolve().parents[1]


def status(app) -> StatusLine:  # type: ignore[no-untyped-def]
    return app.screen.query_one(StatusLine)


def keys_of(table: ResourceTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def cli_json(*args: str) -> object:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(list(args)) == 0
    return json.loads(out.getvalue())


def recorded_file(path: str) -> bytes:
    """A file as the recording holds it (what the host source reads back)."""
    data = json.loads(NODE.read_text())
    return str(data["calls"]["read_bytes"][path]).encode("utf-8", "surrogateescape")


async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# ---------------------------------------------------------------------- sort


def test_sort_keys_order_what_the_cells_mean() -> None:
    assert sort_key("59m") < sort_key("1h50m") < sort_key("1d3h")
    assert sort_key("45s") < sort_key("2m")
    assert sort_key("9") < sort_key("10") < sort_key("10.5")
    assert sort_key("2M") < sort_key("12M")
    assert sort_key("450/5") < sort_key("892/10")
    assert sort_key("loop2") < sort_key("loop10")
    assert sort_key("zzz") < sort_key("-")  # nothing known sorts after every value


async def test_sort_by_any_column_with_the_arrow_in_the_header() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        assert keys_of(table) == ALL  # the source's order
        await pilot.press(*[">"] * 7)  # the seventh column: age
        assert table.sort_column == "age" and not table.sort_reverse
        # 1m, 2h17m, 2d17h: by duration, not by text ("1m" < "2d17h" < "2h17m")
        assert keys_of(table) == ["sb-batch", "sb-web", "sb-legacy"]
        assert table.columns["age"].label.plain == "age ▲"  # type: ignore[index]
        assert table.columns["id"].label.plain == "sandbox"  # type: ignore[index]
        await pilot.press("I")
        assert keys_of(table) == ["sb-legacy", "sb-web", "sb-batch"]
        assert table.columns["age"].label.plain == "age ▼"  # type: ignore[index]
        await pilot.press("<")  # back one column: devices, still descending
        assert table.sort_column == "devices" and table.sort_reverse
        assert table.columns["age"].label.plain == "age"  # type: ignore[index]
        await pilot.press(">", ">")  # past the last column: the source's order again
        assert table.sort_column is None and keys_of(table) == ALL
        # the cursor stays on the same sandbox across a re-sort
        await pilot.press("down")
        assert table.selected_key == "sb-batch"
        await pilot.press(*[">"] * 7)
        assert table.selected_key == "sb-batch"


async def test_a_click_on_a_header_sorts_and_a_second_click_inverts() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:6]) + 2
        await pilot.click("#sandboxes", offset=(x, 1))
        assert table.sort_column == "age" and keys_of(table) == ["sb-batch", "sb-web", "sb-legacy"]
        await pilot.click("#sandboxes", offset=(x, 1))
        assert table.sort_reverse and keys_of(table) == ["sb-legacy", "sb-web", "sb-batch"]


async def test_a_refresh_keeps_the_sort() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        await pilot.press(*[">"] * 7, "I")
        app.reload()
        await settle(pilot)
        assert keys_of(table) == ["sb-legacy", "sb-web", "sb-batch"]


# ---------------------------------------------------------------------- filter


async def test_filter_applies_as_you_type_with_regex_and_inverse() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        await pilot.press("slash", "b", "a")
        assert keys_of(table) == ["sb-batch"]  # before Enter: the rows follow the typing
        await pilot.press("backspace", "backspace", *"web|leg", "enter")
        assert keys_of(table) == ["sb-web", "sb-legacy"]
        assert "2 of 3 sandboxes" in status(app).message
        assert table.border_subtitle == "/web|leg  2 of 3"
        await pilot.press("slash", *["backspace"] * 7, *"!web", "enter")
        assert keys_of(table) == ["sb-batch", "sb-legacy"]
        await pilot.press("escape")  # Esc on a filtered table clears the filter first
        assert keys_of(table) == ALL and isinstance(app.screen, SandboxesScreen)
        assert table.border_subtitle == ""


async def test_a_bad_regex_is_one_status_line_and_the_last_good_filter_stays() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        await pilot.press("slash", *"sb-(")
        line = status(app)
        assert line.level == "error"
        assert line.message.startswith("filter: bad regex 'sb-(': missing )")
        assert keys_of(table) == ALL  # "sb-" still applies
        await pilot.press("enter")
        assert table.filter == "sb-" and status(app).level == "error"
        assert "still /sb-" in status(app).message
        await pilot.press("slash", *["backspace"] * 3, *"w", "escape")  # Esc: as it was
        assert table.filter == "sb-" and keys_of(table) == ALL
        # while typing the status says what Esc does there: gives the last filter back
        await pilot.press("slash", "w")
        assert status(app).message.endswith("(Enter keeps, Esc restores)")
        await pilot.press("escape", "escape")  # restores, then clears /sb-
        assert table.filter == "" and status(app).message == ""
        # a bad term on a table never filtered: its error goes with the next Esc
        await pilot.press("slash", "[", "enter")
        assert status(app).level == "error" and table.filter == ""
        await pilot.press("escape")
        assert status(app).message == ""


async def test_every_table_filters_containers_devices_processes_links() -> None:
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SandboxScreen)
        containers = screen.query_one("#containers", ResourceTable)
        assert len(keys_of(containers)) == 2
        await pilot.press("slash", *"^web$", "enter")
        assert keys_of(containers) == ["web"]
        assert "1 of 2 containers" in status(app).message
        tables = [screen.query_one(t) for t in (DeviceTable, ProcessTable, LinkTable)]
        terms = ("!b81e", "qemu", "tap|eth")
        for table, term in zip(tables, terms, strict=True):
            before = keys_of(table)
            table.focus()
            await pilot.press("slash", *term, "enter")
            after = keys_of(table)
            assert after and len(after) < len(before), (table.id, before, after)
            assert f"of {len(before)} {table.noun}" in status(app).message
        assert keys_of(screen.query_one(LinkTable)) == ["eth0", "tap0_kata"]


async def test_the_chains_tree_filters_to_the_matching_branches() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("chains")
        await settle(pilot)
        tree = app.screen.query_one(ChainTree)
        total = tree.total
        # the summary counts in the filter's unit: what the tree lists, as chains
        head = str(app.screen.query_one("#chains-summary").content)  # type: ignore[attr-defined]
        assert head.startswith(f"{total} chains: ")
        await pilot.press("slash", *"deleted", "enter")
        kept = _entries(tree)
        assert 0 < len(kept) < total
        for node in kept:  # each kept entry has a line that says "deleted"
            assert _subtree_matches(node, "deleted")
        await pilot.press("slash", *["backspace"] * 7, *"!deleted", "enter")
        assert len(_entries(tree)) == total - len(kept)
        assert not any(_subtree_matches(n, "deleted") for n in _entries(tree))
        assert f"of {total} chains" in status(app).message
        await pilot.press("escape")
        assert tree.filter == "" and isinstance(app.screen, ChainsScreen)


def _entries(tree: ChainTree) -> list:  # type: ignore[type-arg]
    """The overlays and erofs mounts shown (the latter under their group line)."""
    out = []
    for node in tree.root.children:
        out += [node] if node.data is not None else [c for c in node.children if c.data]
    return out


def _subtree_matches(node, term: str) -> bool:  # type: ignore[no-untyped-def]
    label = node.label.plain if isinstance(node.label, Text) else str(node.label)
    return term in label or any(_subtree_matches(c, term) for c in node.children)


# ---------------------------------------------------------------------- navigation


async def test_esc_goes_back_to_where_you_were_after_L_C_and_colon() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/api")
        await pilot.pause()
        assert isinstance(app.screen, ContainerScreen)
        await pilot.press("L")
        assert isinstance(app.screen, LogsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "api"
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, ChainsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "api"
        await pilot.press("colon", *"sb-batch", "enter")
        await pilot.pause()
        assert isinstance(app.screen, SandboxScreen) and app.screen.sandbox_id == "sb-batch"
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "api"


async def test_walking_in_circles_does_not_grow_the_stack() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web")
        await pilot.pause()
        for _ in range(3):
            await pilot.press("L")
            await pilot.press("C")
            await settle(pilot)
        names = [type(s).__name__ for s in app.screen_stack]
        assert names == ["SandboxesScreen", "SandboxScreen", "LogsScreen", "ChainsScreen"]
        await pilot.press("colon", *"sandboxes", "enter")
        await pilot.pause()
        assert len(app.screen_stack) == 1


# ---------------------------------------------------------------------- jump


def test_jump_accepts_unique_prefixes_and_names_what_is_ambiguous(views) -> None:  # type: ignore[no-untyped-def]
    assert resolve("ch", views).target == ("view", "chains")
    assert resolve(":lo", views).target == ("view", "logs")
    assert resolve("sb-l/leg", views).target == ("container", "sb-legacy", "legacy")
    assert resolve("sb-web/a", views).target == ("container", "sb-web", "api")
    ambiguous = resolve("sb-", views)
    assert ambiguous.target is None
    assert ambiguous.error == "'sb-' is ambiguous: sb-web, sb-batch, sb-legacy"
    assert resolve("zz", views).error == "no view or resource named 'zz'"
    assert resolve("sb-web/zz", views).error == "no container 'zz' in sandbox sb-web"


def test_completion_is_the_longest_common_prefix_then_the_containers(views) -> None:  # type: ignore[no-untyped-def]
    assert complete("sb-", views) == ("sb-", ["sb-web", "sb-batch", "sb-legacy"])
    assert complete("sb-w", views) == ("sb-web", ["sb-web"])
    assert complete("sb-web", views) == ("sb-web/", ["sb-web"])
    assert complete("sb-web/", views) == ("sb-web/", ["sb-web/web", "sb-web/api"])
    assert complete("sb-web/a", views) == ("sb-web/api", ["sb-web/api"])
    assert complete("c", views) == ("chains", ["chains"])
    assert complete("nothing", views) == ("nothing", [])


async def test_tab_completes_in_the_jump_prompt_and_a_bad_name_keeps_it_open() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon")
        screen = app.screen
        assert isinstance(screen, JumpScreen)
        await pilot.press(*"sb-")
        assert screen.matches_text == "sb-web  sb-batch  sb-legacy"
        await pilot.press("enter")  # ambiguous: the prompt stays, the line says why
        assert app.screen is screen
        assert screen.matches_text == "'sb-' is ambiguous: sb-web, sb-batch, sb-legacy"
        await pilot.press("w", "tab")
        prompt = screen.query_one("#jump")
        assert prompt.value == "sb-web"  # type: ignore[attr-defined]
        await pilot.press("tab", "a", "tab")
        assert prompt.value == "sb-web/api"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "api"


async def test_a_prefix_of_a_name_a_sandbox_shares_with_its_container_is_the_sandbox() -> None:
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        web = app.sandbox("sb-web")
        assert web is not None and web.container("sb-web") is not None  # its pause container
        await pilot.press("colon", *"sb-w", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SandboxScreen) and app.screen.sandbox_id == "sb-web"


@pytest.fixture
def views():  # type: ignore[no-untyped-def]
    import asyncio

    from tests.tui_support import make_source

    return asyncio.run(make_source().load())


# ---------------------------------------------------------------------- describe


async def test_describe_shows_the_persist_json_as_read_on_a_host() -> None:
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#sandboxes", ResourceTable)
        table.move_cursor(row=table.get_row_index("sb-web"))
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DescribeScreen)
        path = "/run/vc/sbs/sb-web/persist.json"
        raw = recorded_file(path)
        assert json.loads(screen.shown_text) == json.loads(raw)  # indented, same document
        origin = str(screen.query_one("#describe-origin").content)  # type: ignore[attr-defined]
        assert origin.startswith(f"{path}, as read ({len(raw)} bytes)")
        # the footer names what `r` switches to, in either mode
        assert "As read" in footer_keys(app) and "Indented" not in footer_keys(app)
        await pilot.press("r")
        assert screen.shown_text == raw.decode()  # byte for byte as read
        await settle(pilot)
        assert "Indented" in footer_keys(app) and "As read" not in footer_keys(app)
        await pilot.press("r")
        await settle(pilot)
        assert "As read" in footer_keys(app)
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxesScreen)


async def test_describe_a_device_is_its_devices_entry_and_find_walks_matches() -> None:
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        await pilot.press("d")  # focus the devices
        devices = app.screen.query_one(DeviceTable)
        device = devices.selected_key
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DescribeScreen) and screen.target[0] == "device"
        doc = json.loads(recorded_file("/run/vc/sbs/sb-web/persist.json"))
        (entry,) = [d for d in doc["Devices"] if d["ID"] == device]
        assert json.loads(screen.shown_text) == entry
        await pilot.press("slash", *"count", "enter")
        view = screen.query_one(DocumentView)
        assert len(view.matches) == 2 and view.current == 0  # RefCount, AttachCount
        await pilot.pause()
        assert status(app).message == "find 'count': match 1/2 (n / N)"
        await pilot.press("n")
        assert view.current == 1
        await pilot.pause()
        assert status(app).message == "find 'count': match 2/2 (n / N)"
        await pilot.press("n")
        assert view.current == 0  # wraps around
        await pilot.pause()
        assert status(app).message == "find 'count': match 1/2 (n / N)"
        await pilot.press("y")
        assert app.clipboard == screen.shown_text
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxScreen)


async def test_a_describe_line_wider_than_the_view_scrolls_sideways_not_cut() -> None:
    app = node_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        await pilot.press("d", "D")
        await settle(pilot)
        view = app.screen.query_one(DocumentView)
        longest = max(len(line) for line in view.text.splitlines())
        assert longest > view.size.width  # the backing file's path
        assert view.virtual_size.width >= longest  # every character can be scrolled to
        await pilot.press("slash", *"layer.erofs", "enter")  # find brings the match into view
        assert view.scroll_x > 0


async def test_describe_on_a_source_without_files_says_it_shows_the_console_state() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-batch/batch")
        await pilot.pause()
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DescribeScreen)
        doc = json.loads(screen.shown_text)
        assert doc["id"] == "batch" and doc["kata_error"].startswith("unsupported mount source")
        origin = str(screen.query_one("#describe-origin").content)  # type: ignore[attr-defined]
        assert origin.startswith("console state (this source keeps no file)")


async def test_describe_on_the_demo_is_the_persist_json_the_engine_wrote() -> None:
    import asyncio

    from kata_console.app import KataConsole
    from kata_console.sources.demo_source import DemoSource

    source = DemoSource()
    await asyncio.wait_for(source.ready(), 30)
    app = KataConsole(source, cursor_blink=False, animations=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.jump_to("sb-web/web")
            await pilot.pause()
            await pilot.press("D")
            await settle(pilot)
            written = (source.store.container_dir("sb-web", "web") / "persist.json").read_bytes()
            assert json.loads(app.screen.shown_text) == json.loads(written)  # type: ignore[attr-defined]
            await pilot.press("escape")
            app.jump_to("sb-batch/batch")  # Kata refused it: no file, the engine's reason
            await pilot.pause()
            await pilot.press("D")
            await settle(pilot)
            doc = json.loads(app.screen.shown_text)  # type: ignore[attr-defined]
            assert doc["refused"].startswith("unsupported mount source")
    finally:
        await source.close()


# ---------------------------------------------------------------------- copy


async def test_y_copies_the_selected_path_with_osc52() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        tree = app.screen.query_one(ChainTree)
        chain = app.screen.container.chain  # type: ignore[attr-defined]
        await pilot.press("y")  # the overlay line: the rootfs mountpoint
        assert app.clipboard == chain.target
        assert status(app).message.startswith(f"copied rootfs mountpoint {chain.target}")
        backing = chain.layers[0].device.backing_file
        line = next(
            n.line
            for n in _walk(tree.root)
            if (n.label.plain.startswith("file "))  # type: ignore[union-attr]
        )
        tree.cursor_line = line
        await pilot.press("y")
        assert app.clipboard == backing
        devices = app.screen.query_one(DeviceTable)
        devices.focus()
        await pilot.press("y")
        sb = app.sandbox("sb-web")
        assert sb is not None
        assert app.clipboard == next(
            d.host_path for d in sb.devices if d.id == devices.selected_key
        )


def _walk(node):  # type: ignore[no-untyped-def]
    for child in node.children:
        yield child
        yield from _walk(child)


async def test_y_on_a_host_sandbox_copies_its_shim_socket() -> None:
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#sandboxes", ResourceTable)
        table.move_cursor(row=table.get_row_index("sb-web"))
        await pilot.press("y")
        assert app.clipboard == "/run/vc/sbs/sb-web/shim-monitor.sock"


# ---------------------------------------------------------------------- export


async def test_export_a_chain_writes_the_chains_json_entry(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("ctrl+e")
        prompt = app.screen.query_one("#export-prompt")
        default = prompt.value  # type: ignore[attr-defined]
        assert default == str(tmp_path / "kata-console-chain-web-20260302T093000Z.json")
        assert status(app).message == (
            "export the rootfs chain of web (a chains --json entry) as JSON"
            " to the path below (Enter writes, Esc cancels)"
        )
        await pilot.press("enter")
        await settle(pilot)
        assert (
            status(app).message
            == f"exported the rootfs chain of web (a chains --json entry) to {default}"
        )
    written = json.loads(Path(default).read_text())
    chains = cli_json("chains", "--json", "--snapshot", str(REPO / "fixtures/hosts/demo.json"))
    assert written in chains["chains"]  # type: ignore[index]
    assert written["target"].endswith("/k8s.io/web/rootfs")


async def test_export_never_overwrites_silently(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old\n")
    app = node_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+e")
        prompt = app.screen.query_one("#export-prompt")
        prompt.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert target.read_text() == "old\n"
        assert status(app).level == "warning"
        assert (
            status(app).message == f"{target} exists: Enter again overwrites it, or change the name"
        )
        assert prompt.is_open  # type: ignore[attr-defined]
        await pilot.press("enter")  # the same path again: the user said so
        await settle(pilot)
        assert not prompt.is_open  # type: ignore[attr-defined]
        assert status(app).message.endswith(f"to {target}")
    # the host's sandboxes screen exports exactly what `inspect --json` prints
    assert json.loads(target.read_text()) == cli_json("inspect", "--json", "--snapshot", str(NODE))


async def test_export_to_a_missing_directory_is_one_error_line(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("chains")
        await settle(pilot)
        await pilot.press("ctrl+e")
        prompt = app.screen.query_one("#export-prompt")
        prompt.value = str(tmp_path / "nope" / "x.json")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert status(app).level == "error"
        assert status(app).message == (
            f"export failed: {tmp_path / 'nope'}: no such directory: correct the path, "
            "or Esc cancels"
        )
        # the prompt stays open with the path as typed, to be corrected
        assert prompt.is_open  # type: ignore[attr-defined]
        assert prompt.value == str(tmp_path / "nope" / "x.json")  # type: ignore[attr-defined]
        prompt.value = str(tmp_path / "x.json")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert not prompt.is_open  # type: ignore[attr-defined]
        assert status(app).message.endswith(f"to {tmp_path / 'x.json'}")
        assert (tmp_path / "x.json").is_file()


# ---------------------------------------------------------------------- logs


async def test_all_logs_show_and_filter_by_sandbox_and_container() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("logs")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        lines = app.source.logs()
        assert [e.scope for e in pane.buffer.visible] == [
            f"{ln.sandbox_id}/{ln.container_id}" if ln.container_id else str(ln.sandbox_id)
            for ln in lines
        ]
        first_api = next(e for e in pane.buffer.visible if e.line.container_id == "api")
        assert " sb-web/api " in pane.buffer.display(first_api)
        api = [ln.text for ln in lines if ln.container_id == "api"]
        await pilot.press("s", *"sb-web/api", "enter")
        assert [e.line.text for e in pane.buffer.visible] == api
        assert (
            status(app).message
            == f"scope sb-web/api: {len(api)} of {len(lines)} lines (Esc: every line)"
        )
        await pilot.press("s", *["backspace"] * 10, *"sb-legacy", "enter")
        legacy = [ln.text for ln in lines if ln.sandbox_id == "sb-legacy"]
        assert [e.line.text for e in pane.buffer.visible] == legacy
        await pilot.press("escape")  # the scope goes first, then the view
        assert len(pane.buffer.visible) == len(lines) and isinstance(app.screen, LogsScreen)


async def test_long_ids_are_shortened_and_their_prefix_scopes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("logs")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        sid, cid = "a" * 64, "b" * 64
        pane.push([LogLine(T0, "agent", "info", "hello", {"sandbox": sid, "container": cid})])
        pane.flush()
        await pilot.pause()
        entry = pane.buffer.visible[-1]
        assert entry.scope == f"{'a' * 12}/{'b' * 12}"
        assert pane.buffer.scope_width == len(entry.scope)
        await pilot.press("s", *("a" * 12), "enter")
        assert [e.line.text for e in pane.buffer.visible] == ["hello"]
