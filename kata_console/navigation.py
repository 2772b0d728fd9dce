"""Where the console goes: the navigation stack and the views it opens.

Part of `KataConsole` (a mixin: the app's screen stack is the state). A view already on
the stack is brought to the top instead of pushed again, so Esc returns to where the user
was (also after `L`, `C`, `F`, `:` and Enter on a finding) and walking in circles does not
grow the stack.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from kata_console.screens.base import ConsoleScreen
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.sources.model import SandboxView


class Navigation:
    """The app's ways to a view: `navigate`, `open_*`, `jump_to` (on `KataConsole`, whose
    screen stack, sandboxes and status line they use)."""

    def navigate(self, place: tuple[str, ...], make: Callable[[], Screen[None]]) -> None:
        """Go to the view at `place` (its crumbs): bring it to the top when it is on the
        stack (back to it when it is the first view), else push it. Esc then returns to
        where the user was, and the stack never holds a view twice, so walking in circles
        does not grow it."""
        stack = self.screen_stack
        for screen in stack:
            if isinstance(screen, ConsoleScreen) and screen.crumbs == place:
                if screen is stack[0]:  # home: what was above it goes
                    while self.screen is not screen:
                        self.pop_screen()
                elif screen is not self.screen:
                    # brought to the top, the views between stay where they were: Esc
                    # returns to the view the user came from, as a browser's back does.
                    # Textual has no public call that moves a screen within the stack;
                    # its version is pinned exactly (pyproject.toml), and
                    # tests/test_tui_findings.py (esc after a finding) holds this to it
                    self._screen_stack.remove(screen)
                    self.push_screen(screen)
                return
        self.push_screen(make())

    def open_sandbox(self, sandbox_id: str) -> None:
        from kata_console.screens.sandbox import SandboxScreen

        self.navigate(("sandboxes", sandbox_id), lambda: SandboxScreen(sandbox_id))

    def open_container(self, sandbox_id: str, container_id: str) -> None:
        from kata_console.screens.container import ContainerScreen

        self.navigate(
            ("sandboxes", sandbox_id, container_id),
            lambda: ContainerScreen(sandbox_id, container_id),
        )

    def open_describe(self, target: tuple[str, ...]) -> None:
        """The raw document of a sandbox, container or device (`D`)."""
        from kata_console.screens.describe import DescribeScreen, describe_crumbs

        self.navigate(describe_crumbs(target), lambda: DescribeScreen(target))

    def open_device(self, sandbox: SandboxView, device_id: str) -> None:
        """Everything about one device of a sandbox (Enter on a device row)."""
        from kata_console.screens.device import DeviceScreen

        device = next((d for d in sandbox.devices if d.id == device_id), None)
        if device is not None:
            users = [c.id for c in sandbox.containers if device_id in c.devices]
            self.push_screen(DeviceScreen(sandbox.id, device, users))

    def open_stepthrough(self) -> None:
        """The step-through view of a plan source (one instance, kept while it is closed)."""
        from kata_console.screens.stepthrough import StepThroughScreen

        if not getattr(self.source, "stepthrough", False):
            self._status("no plan to step through (start with --source plan:FILE)", "warning")
            return
        if not self.is_screen_installed("stepthrough"):
            self.install_screen(StepThroughScreen(self.source), "stepthrough")  # type: ignore[arg-type]
        screen = self.get_screen("stepthrough")
        if screen in self.screen_stack:
            while self.screen is not screen:
                self.pop_screen()
        else:
            self.push_screen(screen)

    def action_stepthrough(self) -> None:
        self.open_stepthrough()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stepthrough":  # only a plan source has a step-through (hidden otherwise)
            if not getattr(self.source, "stepthrough", False):
                return False
            # on the step-through itself `T` has nowhere to go: not offered there
            installed = self.is_screen_installed("stepthrough")
            return not (installed and self.screen is self.get_screen("stepthrough"))
        return True

    def open_jump(self) -> None:
        from kata_console.screens.jump import JumpScreen

        def answered(text: str | None) -> None:
            if text:
                self.jump_to(text)

        self.push_screen(JumpScreen(self.sandboxes, self.cursor_blink), answered)

    def jump_to(self, text: str) -> None:
        """Go to a view (`sandboxes`, `chains`, `findings`, `logs`, `help`), a sandbox or a
        container."""
        from kata_console.screens.jump import resolve

        if text.strip() == "reload":
            self.reload()
            return
        found = resolve(text, self.sandboxes)
        target = found.target
        if target is None:
            self._status(found.error, "error")
            return
        if target == ("view", "help"):
            self.run_screen_action("help")
            return
        kind = target[0]
        if target == ("view", "sandboxes"):
            self.navigate(("sandboxes",), SandboxesScreen)
        elif target == ("view", "chains"):
            from kata_console.screens.chains import ChainsScreen

            self.navigate(("chains",), ChainsScreen)
        elif target == ("view", "logs"):
            from kata_console.screens.logs import LogsScreen

            self.navigate(("logs",), LogsScreen)
        elif target == ("view", "findings"):
            from kata_console.screens.findings import FindingsScreen

            self.navigate(("findings",), FindingsScreen)
        elif kind == "sandbox":
            self.open_sandbox(target[1])
        elif kind == "container":
            self.open_container(target[1], target[2])

    def run_screen_action(self, action: str) -> None:
        """Run an action of the current view (palette entries use this)."""
        self.call_later(self.run_action, f"screen.{action}")
