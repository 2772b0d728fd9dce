"""The agent over gRPC: Kata's agent API subset, a simulated guest agent, the client.

Importing this package first sets gRPC's environment knobs, before anything imports
`grpc`: with fork support on, every `fork()` while gRPC threads run (pyroute2 netns,
subprocesses) logs "skipping fork() handlers" to stderr, which would corrupt the TUI.
`setdefault` leaves an operator's explicit choice alone.

Entry points: `spawn.spawn_agent` / `spawn.connect` (start or reach an agent and get a
`client.AgentClient`, which implements the engine's `Agent` port), `control.ControlClient`
(faults and inspection of a simulated agent), `server.serve` (the simulated agent).
"""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
