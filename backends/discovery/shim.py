"""The shim's management socket (`shim-monitor.sock`): `GET /agent-url` and `GET /metrics`,
HTTP over a unix socket with httpx's UDS transport, addressed as Kata's own tools address
it (`http://shim/...`).

Read-only by construction. The same server takes `PUT /iptables`, `PUT /policy` and
`POST /direct-volume/resize`, which change the guest; so the transport under every client
made here refuses any method but GET before a byte is written, and the only paths ever
asked for are `AGENT_URL_PATH` and `METRICS_PATH`.

Nothing here raises for what a shim does: every answer is a `ShimFacts`. A shim that is
not there, refuses, is not a socket or does not answer in time is `reachable=False` with
`error="shim unreachable: <reason>"`; one that answers with an error status (Go's handler
writes a 500 with the error's text) is reachable and its text is the error. The console
refreshes every 2 s, so every exchange is bounded: a timeout per phase (connect, each
read), a deadline for the body and a size cap. A shim that hangs costs one timeout; one
that trickles its body, at most about twice the timeout. (One that trickled its headers a
byte at a time could last longer: h11 reads them before the deadline can be looked at; Go's
net/http writes them in one piece.)
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections import OrderedDict

import httpx

from backends.discovery.shimmetrics import headline_figures
from kata_console.engine.ids import validate_id
from kata_console.engine.inspect.facts import ShimFacts

SOCKET_NAME = "shim-monitor.sock"
#: the host part of every URL, as `kata-runtime` and kata-monitor write it
BASE_URL = "http://shim"
AGENT_URL_PATH = "/agent-url"
METRICS_PATH = "/metrics"
#: an agent URL is one short line; Kata's docs size one sandbox's metrics at ~144 KB
AGENT_URL_LIMIT = 4096
METRICS_LIMIT = 8 * 1024 * 1024
ERROR_LIMIT = 300
UNREACHABLE = "shim unreachable: "


# --------------------------------------------------------------------------- socket paths


def shim_socket_candidates(
    sandbox_id: str, vc_root: str = "/run/vc", kata_root: str = "/run/kata"
) -> tuple[str, str]:
    """Where a sandbox's shim listens: the Go runtime's `<vc_root>/sbs/<id>/` first, then
    runtime-rs's `<kata_root>/<id>/` (Go `SocketPathGo`, `SocketPathRust`). The ID is
    checked first: it comes from a directory listing or a recording, and must stay one
    path component."""
    sid = validate_id("sandbox", sandbox_id)
    return (
        os.path.join(vc_root, "sbs", sid, SOCKET_NAME),
        os.path.join(kata_root, sid, SOCKET_NAME),
    )


def shim_socket(sandbox_id: str, vc_root: str = "/run/vc", kata_root: str = "/run/kata") -> str:
    """The candidate Kata's own clients would dial (Go `ClientSocketAddress`: the first that
    exists), or the Go runtime's when neither does, so that asking it reports the absence."""
    candidates = shim_socket_candidates(sandbox_id, vc_root, kata_root)
    for path in candidates:
        if os.path.exists(path):
            return path
    return candidates[0]


# --------------------------------------------------------------------------- texts


def one_line(text: str, limit: int = ERROR_LIMIT) -> str:
    """Text from a shim or a library made safe for one line of a terminal: control
    characters (newlines, escapes) become spaces, runs of spaces one, and long text is cut."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _errno_of(exc: BaseException) -> int | None:
    """The OS error under httpx's and httpcore's wrappers (they chain with `from`)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None


def _connect_reason(exc: BaseException, socket: str) -> str:
    """Why a connect failed, told from the path itself first: what an operator checks."""
    try:
        st = os.stat(socket)
    except FileNotFoundError:
        return f"no socket at {socket}"
    except OSError as err:
        return f"cannot stat {socket}: {err.strerror}"
    if not stat.S_ISSOCK(st.st_mode):
        return f"{socket} is not a socket"
    code = _errno_of(exc)
    if code == errno.ECONNREFUSED:
        return f"connection refused on {socket} (nothing listening)"
    if code == errno.EAGAIN:
        # a unix socket's connect does not wait for a full accept queue, even with a timeout
        return f"{socket} is not accepting connections (its queue is full)"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied on {socket}"
    return f"cannot connect to {socket}: {exc}"


class _Deadline(Exception):
    """The whole answer did not arrive within the deadline (a trickling shim)."""


class _TooLarge(Exception):
    """The answer is larger than the cap for its path."""


def _unreachable(exc: BaseException, socket: str, timeout: float) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        reason = f"connecting to {socket} timed out after {timeout:g} s"
    elif isinstance(exc, httpx.TimeoutException):
        reason = f"no answer within {timeout:g} s"
    elif isinstance(exc, _Deadline):
        reason = f"no complete answer within {timeout:g} s"
    elif isinstance(exc, httpx.ConnectError):
        reason = _connect_reason(exc, socket)
    elif isinstance(exc, httpx.RemoteProtocolError):
        reason = f"no HTTP answer ({exc})"
    elif isinstance(exc, httpx.ReadError | httpx.WriteError):
        reason = f"connection lost ({exc or type(exc).__name__})"
    else:
        reason = str(exc) or type(exc).__name__
    return one_line(UNREACHABLE + reason)


# --------------------------------------------------------------------------- transport


class ReadOnlyViolation(RuntimeError):
    """A request with a method other than GET reached the transport: a bug in this
    program, never sent."""


class _GetOnlyTransport(httpx.BaseTransport):
    """httpx's UDS transport behind a gate that lets GET through and nothing else."""

    def __init__(self, socket: str) -> None:
        # verify=False: the URL is http:// on a unix socket, TLS never happens; it only
        # spares each transport loading the CA bundle.
        self._inner = httpx.HTTPTransport(
            uds=socket,
            verify=False,
            retries=0,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            raise ReadOnlyViolation(
                f"refusing {request.method} {request.url.path}: the shim is only ever read"
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _client(socket: str) -> httpx.Client:
    return httpx.Client(
        transport=_GetOnlyTransport(socket),
        base_url=BASE_URL,
        trust_env=False,
        follow_redirects=False,
        headers={"User-Agent": "kata-console"},
    )


# --------------------------------------------------------------------------- the source


class HttpShimSource:
    """`ShimSource` over httpx. Plain blocking calls, safe from several threads at once,
    so the console can run them in `asyncio.to_thread` and `inspect` call them directly.

    `reuse=True` keeps one client (and its kept-alive connection) per socket, at most
    `max_clients` of them, least recently used closed first; a client whose shim failed is
    dropped so the next call dials afresh. `timeout` bounds `/agent-url` (every refresh),
    `metrics_timeout` bounds `/metrics`, which waits for the guest agent's answer.
    """

    def __init__(
        self,
        timeout: float = 1.0,
        metrics_timeout: float = 5.0,
        reuse: bool = True,
        max_clients: int = 512,
    ) -> None:
        self.timeout = timeout
        self.metrics_timeout = metrics_timeout
        self.reuse = reuse
        self.max_clients = max_clients
        self._clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def __enter__(self) -> HttpShimSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def agent_url(self, socket: str) -> ShimFacts:
        socket = os.fspath(socket)
        answer = self._get(socket, AGENT_URL_PATH, self.timeout, AGENT_URL_LIMIT)
        if isinstance(answer, ShimFacts):
            return answer
        url = answer.strip()
        if not url:
            # runtime-rs answers 200 with an empty body when it has no agent socket
            return ShimFacts(socket, reachable=True, error="shim reports no agent URL")
        if not url.isprintable():
            return ShimFacts(
                socket,
                reachable=True,
                error=one_line(f"shim sent an agent URL that is not one line of text: {url}"),
            )
        return ShimFacts(socket, reachable=True, agent_url=url)

    def metrics(self, socket: str) -> ShimFacts:
        """Headline figures (`FIGURES`); `agent_url` is left unset (ask `agent_url`)."""
        socket = os.fspath(socket)
        answer = self._get(socket, METRICS_PATH, self.metrics_timeout, METRICS_LIMIT)
        if isinstance(answer, ShimFacts):
            return answer
        try:
            figures = headline_figures(answer)
        except Exception as exc:  # the parser's reason, whatever it raises on bad text
            reason = str(exc) or type(exc).__name__
            return ShimFacts(
                socket, reachable=True, error=one_line(f"unparseable /metrics answer: {reason}")
            )
        return ShimFacts(socket, reachable=True, metrics=figures)

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    # ----------------------------------------------------------------------- internals

    def _checkout(self, socket: str) -> httpx.Client:
        if not self.reuse:
            return _client(socket)
        evicted: list[httpx.Client] = []
        with self._lock:
            client = self._clients.get(socket)
            if client is None:
                client = self._clients[socket] = _client(socket)
                while len(self._clients) > self.max_clients:
                    evicted.append(self._clients.popitem(last=False)[1])
            else:
                self._clients.move_to_end(socket)
        for old in evicted:
            old.close()
        return client

    def _discard(self, socket: str, client: httpx.Client) -> None:
        with self._lock:
            if self._clients.get(socket) is client:
                del self._clients[socket]
        client.close()

    def _get(self, socket: str, path: str, timeout: float, limit: int) -> str | ShimFacts:
        """The body of a 200 answer to `GET path`, or the facts saying why there is none."""
        client = self._checkout(socket)
        start = time.monotonic()
        try:
            with client.stream("GET", path, timeout=timeout) as response:
                body = self._read(response, start + timeout, limit)
                status, phrase = response.status_code, response.reason_phrase
        except _TooLarge:
            self._discard(socket, client)
            return ShimFacts(
                socket, reachable=True, error=f"shim's answer to {path} exceeds {limit} bytes"
            )
        except (httpx.HTTPError, _Deadline, OSError) as exc:
            self._discard(socket, client)
            return ShimFacts(socket, reachable=False, error=_unreachable(exc, socket, timeout))
        finally:
            if not self.reuse:
                client.close()
        text = body.decode("utf-8", "replace")
        if status != 200:
            detail = one_line(text)
            return ShimFacts(
                socket,
                reachable=True,
                error=one_line(
                    f"shim answered {status} {phrase}" + (f": {detail}" if detail else "")
                ),
            )
        return text

    @staticmethod
    def _read(response: httpx.Response, deadline: float, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Deadline
        return b"".join(chunks)
