"""OpenAI-compatible servers for the endpoint tests, all on 127.0.0.1.

`FakeServer` misbehaves on purpose, one way per served model name, to test each fault and
each streaming trap; `SimulatedReplica` serves like one replica of a real server, with a set
number of parallel slots and a set service time per token, so that its capacity at an SLO
can be computed; `serve_checkpoints` starts a real `transformers serve`.

Benchmarks import the replica too (`sys.path` at the repository root, `from tests.servers
import simulated_replica`).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ANSWER = [" The", " sky", " is", " blue", "."]


def _chunk(text: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choice: dict[str, Any] = {"index": 0, "text": text or "", "finish_reason": finish}
    body = {"id": "x", "object": "text_completion", "choices": [choice], **extra}
    return f"data: {json.dumps(body)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer  # type: ignore[assignment]

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self.path.endswith("/models"):
            data = [{"id": name, "object": "model"} for name in self.server.listed]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"body": body, "headers": dict(self.headers), "path": self.path}
        )
        behaviour = body.get("model", "ok")
        self.server.count[behaviour] = self.server.count.get(behaviour, 0) + 1
        getattr(self, "_" + behaviour.replace("-", "_"), self._ok)(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def _send(self, data: bytes, pause: float = 0.0) -> None:
        if self.server.closing.is_set():  # a slow behaviour must not outlive its test
            raise ConnectionAbortedError("the fake server is shutting down")
        self.wfile.write(data)
        self.wfile.flush()
        if pause:
            time.sleep(pause)

    def _answer(self, body: dict[str, Any], *, usage: bool = True, pause: float = 0.0) -> None:
        pieces = ANSWER[: body.get("max_tokens", len(ANSWER))]
        for piece in pieces[:-1]:
            self._send(_chunk(piece), pause)
        finish = "length" if len(pieces) < len(ANSWER) else "stop"
        extra = {}
        if usage:
            extra["usage"] = {
                "prompt_tokens": 7,
                "completion_tokens": len(pieces) + (finish == "stop"),
                "total_tokens": 7 + len(pieces) + (finish == "stop"),
            }
        self._send(_chunk(pieces[-1], finish, **extra))
        self._send(b"data: [DONE]\n\n")

    def _ok(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._answer(body)

    def _role_first(self, body: dict[str, Any]) -> None:
        """A role-only chunk and an empty one, long before any text: not the first token."""
        self._start_stream()
        self._send(b'data: {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n', 0.2)
        self._send(_chunk(""), 0.2)
        self._answer(body)

    def _usage_apart(self, body: dict[str, Any]) -> None:
        """vLLM's way: usage on a chunk of its own, with no choices, after the last text."""
        self._start_stream()
        for piece in ANSWER[:-1]:
            self._send(_chunk(piece))
        self._send(_chunk(ANSWER[-1], "stop"))
        usage = {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
        self._send(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self._send(b"data: [DONE]\n\n")

    def _no_usage(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._answer(body, usage=False)

    def _wrong_usage(self, body: dict[str, Any]) -> None:
        """Reports 3 more completion tokens than the text holds."""
        self._start_stream()
        self._send(_chunk(" The sky is blue."))
        usage = {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}
        self._send(_chunk("", "stop", usage=usage))
        self._send(b"data: [DONE]\n\n")

    def _http500(self, body: dict[str, Any]) -> None:
        self._json(500, {"error": {"message": "CUDA out of memory on the server"}})

    def _http401(self, body: dict[str, Any]) -> None:
        self._json(401, {"error": {"message": "invalid api key"}})

    def _echo_key(self, body: dict[str, Any]) -> None:
        """A 401 whose body echoes the key past its 300th character, raw and JSON-escaped
        (`\\/` for `/`, as PHP and some proxies write it)."""
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        escaped = key.replace("/", "\\/")
        data = ("x" * 290 + f" key {key} or {escaped}").encode()
        self.send_response(401)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _trickle(self, body: dict[str, Any]) -> None:
        """One byte every 0.2 s and never a newline: only a whole-request deadline stops it."""
        self._start_stream()
        for _ in range(200):
            self._send(b"d", 0.2)

    def _negative_usage(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(_chunk(" The sky is blue."))
        usage = {"prompt_tokens": 7, "completion_tokens": -5, "total_tokens": 2}
        self._send(_chunk("", "stop", usage=usage))
        self._send(b"data: [DONE]\n\n")

    def _huge_usage(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(_chunk(" The sky is blue."))
        usage = {"prompt_tokens": 7, "completion_tokens": 10**15, "total_tokens": 10**15 + 7}
        self._send(_chunk("", "length", usage=usage))
        self._send(b"data: [DONE]\n\n")

    def _malformed(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(_chunk(" The"))
        self._send(b"data: {this is not json\n\n")

    def _number_text(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(b'data: {"choices": [{"text": 3}]}\n\n')

    def _truncated(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(_chunk(" The"))
        self._send(_chunk(" sky"))  # then the connection closes, no finish_reason, no [DONE]

    def _not_streamed(self, body: dict[str, Any]) -> None:
        self._json(200, {"choices": [{"text": " The sky is blue.", "finish_reason": "stop"}]})

    def _hangs(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._send(_chunk(" The"), 3.0)

    def _flaky(self, body: dict[str, Any]) -> None:
        """Every fourth request fails with HTTP 503."""
        if self.server.count["flaky"] % 4 == 0:
            self._json(503, {"error": {"message": "overloaded"}})
        else:
            self._ok(body)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listed: tuple[str, ...] = ("ok",)) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.listed = listed
        self.requests: list[dict[str, Any]] = []
        self.count: dict[str, int] = {}
        self.closing = threading.Event()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (as the tests' clients do on purpose) is not an error.

        socketserver prints any other error's traceback to stderr, where an in-process
        pytester run of a later test would capture it.
        """
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def fake_server(listed: tuple[str, ...] = ("ok",)) -> Iterator[FakeServer]:
    server = FakeServer(listed)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()


class _ReplicaHandler(BaseHTTPRequestHandler):
    """One request of a simulated replica: wait for a free slot (first come, first served),
    then the prefill, then one token every `token_s`, streamed as an OpenAI-compatible
    /v1/completions or /v1/chat/completions stream with usage."""

    server: SimulatedReplica  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        data = json.dumps({"object": "list", "data": [{"id": "sim", "object": "model"}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = json.dumps(body.get("prompt", body.get("messages")))
        tokens = min(self.server.tokens_for(prompt), int(body.get("max_tokens") or 10**6))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        start = self.server.reserve_slot(self.server.service_s(tokens))
        for number in range(tokens):
            due = start + self.server.prefill_s + number * self.server.token_s
            time.sleep(max(0.0, due - self.server.clock()))
            finish = None if number < tokens - 1 else "length"
            extra: dict[str, Any] = {}
            if finish:
                extra["usage"] = {
                    "prompt_tokens": 4,
                    "completion_tokens": tokens,
                    "total_tokens": 4 + tokens,
                }
            self.wfile.write(_chunk(f" t{number}", finish, **extra))
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class SimulatedReplica(ThreadingHTTPServer):
    """A served model with `slots` requests generating at once (the rest wait, first come,
    first served), `prefill_s` to the first token and `token_s` per token after it. Each
    prompt's answer length is fixed (`tokens`), or drawn once per prompt from `seed` within
    `tokens=(low, high)`: the same prompt always takes as long.

    A request's service time is prefill_s + (tokens - 1) * token_s. At a constant arrival
    rate no request waits while the rate stays at or below slots / service time (D/D/c), so
    that is the replica's capacity at any end-to-end SLO of at least one service time.

    The slots are kept on the replica's own ideal clock (`reserve_slot`): a slot is busy
    from a request's start for exactly its service time, and each token is due at a set
    time from that start. A thread this busy machine wakes late delays that request's
    tokens, never the next request's start: the capacity stays slots / service time
    whatever else runs. (Holding a slot for the sleeps themselves stretched each service by
    the wake-up delays, 40.5 ms to 42-45 ms with one busy process beside: a real capacity
    of 44-47 requests/s where 50 was computed.)"""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(
        self,
        slots: int = 2,
        prefill_s: float = 0.02,
        token_s: float = 0.01,
        tokens: int | tuple[int, int] = 6,
        seed: int = 0,
        port: int = 0,  # 0: any free port
    ) -> None:
        super().__init__(("127.0.0.1", port), _ReplicaHandler)
        self.slot_count = slots
        self.clock = time.monotonic
        self.free_at = [0.0] * slots  # when each slot is next free, on self.clock
        self.prefill_s = prefill_s
        self.token_s = token_s
        self.tokens = tokens
        self.seed = seed
        self.served = 0
        self.count_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def tokens_for(self, prompt: str) -> int:
        if isinstance(self.tokens, int):
            return self.tokens
        low, high = self.tokens
        return random.Random(f"{self.seed}:{prompt}").randint(low, high)

    def service_s(self, tokens: int) -> float:
        """The time one request holds a slot."""
        return self.prefill_s + (tokens - 1) * self.token_s

    def reserve_slot(self, service_s: float) -> float:
        """The time a request arriving now starts: now, or when the first slot to free up
        does (first come, first served); that slot is then busy for `service_s`."""
        with self.count_lock:
            self.served += 1
            now = self.clock()
            slot = min(range(self.slot_count), key=self.free_at.__getitem__)
            start = max(now, self.free_at[slot])
            self.free_at[slot] = start + service_s
        return start

    def capacity_rps(self, slo_latency_ms: float) -> float:
        """The highest constant rate at which every request meets slo_latency_ms, for a
        fixed answer length: slots / service time, or 0 when one request alone is too slow."""
        assert isinstance(self.tokens, int), "a computable capacity needs a fixed length"
        service = self.service_s(self.tokens)
        return 0.0 if service * 1000 > slo_latency_ms else self.slot_count / service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@contextmanager
def simulated_replica(**settings: Any) -> Iterator[SimulatedReplica]:
    """A `SimulatedReplica` serving on 127.0.0.1 for the block's duration."""
    server = SimulatedReplica(**settings)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_checkpoints(log: Path, startup_s: float = 120.0) -> Iterator[str]:
    """A real `transformers serve` on 127.0.0.1, loading any local checkpoint asked for by
    path; yields its base URL. Offline: the models are local directories."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("transformers")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
    ]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        # One thread that sleeps when idle: the server shares 2 cores with the in-process
        # models of the same test, and spinning OpenMP threads would slow those down.
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(port, process, startup_s, log)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_healthy(port: int, process: subprocess.Popen[bytes], limit: float, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"transformers serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"transformers serve did not start in {limit:g} s: {log.read_text()[-2000:]}"
    )
