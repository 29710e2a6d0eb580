"""An OpenAI-compatible chat-completions server on 127.0.0.1, over any batched generator.

The server turns concurrent HTTP requests into batches: a :class:`MicroBatcher` collects the
requests that arrive within a few milliseconds and calls the generator once on all of them, so a
batched backend (a transformers model on a GPU) does one forward pass for many agents. Clients are
anything that speaks ``/v1/chat/completions`` — :class:`~agentgym.policies.openai.OpenAIPolicy`,
the ``openai`` package, ``curl``.

A *generator* is a callable ``generate(batch, params) -> list[str]``: ``batch`` is a list of chat
message lists (``[{"role": ..., "content": ...}, ...]``) and ``params`` a
:class:`GenerationParams`; it returns one completion text per message list, in order.

Only the standard library is used (:class:`http.server.ThreadingHTTPServer`). The server has no
authentication, so it binds the loopback interface only.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agentgym.errors import AgentGymError
from agentgym.prompts import Message

__all__ = [
    "LOOPBACK_HOSTS",
    "ChatServer",
    "GenerationParams",
    "Generator",
    "MicroBatcher",
    "RequestError",
    "echo_generator",
    "hf_generator",
]

log = logging.getLogger(__name__)

#: Hosts the server agrees to bind (all mean the IPv4 loopback interface).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
ROLES = ("system", "user", "assistant", "tool", "developer")


@dataclass(frozen=True, kw_only=True)
class GenerationParams:
    """Sampling settings of one request; requests with equal params share a generator call."""

    temperature: float = 1.0
    """Sampling temperature (0: greedy)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 256
    """Most tokens to generate."""
    stop: tuple[str, ...] = ()
    """Strings that end the generation (the server also cuts the text at the first one)."""
    seed: int | None = None
    """Sampling seed, where the backend supports one."""


Generator = Callable[[list[list[Message]], GenerationParams], list[str]]


class RequestError(Exception):
    """A request the server refuses: HTTP ``status``, the offending ``param`` and a message."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.kind = status, message, param, kind


# -- micro-batching --------------------------------------------------------------------------


@dataclass
class _Pending:
    messages: list[Message]
    params: GenerationParams
    future: Future = field(default_factory=Future)


class MicroBatcher:
    """Groups concurrent :meth:`submit` calls into batched calls of ``generate``.

    One background thread waits for a first request, keeps collecting for ``max_wait_s`` (or until
    ``max_batch_size`` requests are waiting), then calls ``generate`` once per distinct
    :class:`GenerationParams` among them.

    Args:
        generate: The batched generator.
        max_batch_size: Most requests in one generator call.
        max_wait_s: How long to wait for more requests after the first one arrives.
    """

    def __init__(self, generate: Generator, *, max_batch_size: int = 32,
                 max_wait_s: float = 0.005) -> None:
        if max_batch_size < 1 or max_wait_s < 0:
            raise AgentGymError(
                f"MicroBatcher needs max_batch_size >= 1 and max_wait_s >= 0, got "
                f"{max_batch_size} and {max_wait_s}. Fix: use e.g. 32 and 0.005."
            )
        self.generate = generate
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        #: Sizes of the generator calls made so far (for tests and monitoring).
        self.batch_sizes: list[int] = []
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="agentgym-batcher", daemon=True)
        self._thread.start()

    def submit(self, messages: list[Message], params: GenerationParams) -> Future:
        """Queue one request; the future resolves to its completion text."""
        pending = _Pending(messages, params)
        self._queue.put(pending)
        return pending.future

    def close(self, timeout: float = 5.0) -> None:
        """Stop the batching thread after the requests already queued."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _collect(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch, deadline = [first], time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._collect(first)
            groups: dict[GenerationParams, list[_Pending]] = {}
            for item in batch:
                groups.setdefault(item.params, []).append(item)
            for params, items in groups.items():
                self._run(params, items)

    def _run(self, params: GenerationParams, items: list[_Pending]) -> None:
        self.batch_sizes.append(len(items))
        try:
            texts = self.generate([i.messages for i in items], params)
            if len(texts) != len(items):
                raise AgentGymError(
                    f"The generator returned {len(texts)} texts for a batch of {len(items)}. "
                    "Fix: return exactly one completion per message list, in order."
                )
        except Exception as exc:  # every waiting request gets the error, the server lives on
            log.exception("Generator failed on a batch of %d", len(items))
            for item in items:
                item.future.set_exception(exc)
            return
        for item, text in zip(items, texts):
            item.future.set_result(text)


# -- request validation ----------------------------------------------------------------------


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise RequestError(400, f"'{name}' must be a number in [{low}, {high}], got {value!r}.",
                           name)
    return float(value)


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(  # OpenAI's content parts: keep the text ones
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in value
    ):
        return "".join(p["text"] for p in value)
    raise RequestError(400, f"'{where}' must be a string (or a list of text parts), "
                       f"got {type(value).__name__}.", where)


def parse_messages(value: Any) -> list[Message]:
    """Validated chat messages; :class:`RequestError` names the first bad field."""
    if not isinstance(value, list) or not value:
        raise RequestError(400, "'messages' must be a non-empty list of {role, content} objects.",
                           "messages")
    out = []
    for i, msg in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise RequestError(400, f"'{where}' must be an object with role and content.", where)
        role = msg.get("role")
        if role not in ROLES:
            raise RequestError(400, f"'{where}.role' must be one of {', '.join(ROLES)}, "
                               f"got {role!r}.", f"{where}.role")
        if "content" not in msg:
            raise RequestError(400, f"'{where}.content' is missing.", f"{where}.content")
        out.append({"role": role, "content": _content(msg["content"], f"{where}.content")})
    return out


def parse_params(body: dict, *, max_tokens_limit: int) -> GenerationParams:
    """Validated sampling settings of a chat-completions body."""
    for name, allowed in (("stream", False), ("n", 1)):
        if body.get(name) not in (None, allowed):
            raise RequestError(400, f"'{name}' = {body[name]!r} is not supported by this server; "
                               f"send {name}={json.dumps(allowed)}.", name)
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = body.get(key, 256)
    if max_tokens is None:
        max_tokens = 256
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise RequestError(400, f"'{key}' must be an integer >= 1, got {max_tokens!r}.", key)
    if max_tokens > max_tokens_limit:
        raise RequestError(400, f"'{key}' = {max_tokens} exceeds this server's limit of "
                           f"{max_tokens_limit}; ask for fewer tokens.", key)
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else (stop or [])
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise RequestError(400, "'stop' must be a string or a list of non-empty strings.", "stop")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RequestError(400, f"'seed' must be an integer or null, got {seed!r}.", "seed")
    return GenerationParams(
        temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
        top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
        max_tokens=max_tokens,
        stop=tuple(stop),
        seed=seed,
    )


def _cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


# -- the server ------------------------------------------------------------------------------


class ChatServer:
    """OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models`` over a batched generator.

    Use as a context manager (serves in a background thread) or call :meth:`serve_forever`.

    Args:
        generate: The batched generator (see the module docstring).
        host: ``127.0.0.1`` (or ``localhost``); any other host is refused.
        port: TCP port; 0 picks a free one (see :attr:`port`).
        model: The model name the server answers to (``/v1/models`` lists it).
        max_batch_size: Most requests in one generator call.
        max_wait_s: How long to collect requests for one batch.
        max_tokens_limit: Largest ``max_tokens`` a request may ask for.
        count_tokens: Token count of a text, for ``usage``; default: the generator's own
            ``count_tokens`` attribute if it has one, else whitespace-separated words.
    """

    def __init__(
        self,
        generate: Generator,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        model: str = "agentgym",
        max_batch_size: int = 32,
        max_wait_s: float = 0.005,
        max_tokens_limit: int = 4096,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise AgentGymError(
                f"agentgym serve binds the loopback interface only, got host {host!r}: the server "
                "has no authentication. Fix: use --host 127.0.0.1 (the default) and, to reach it "
                "from elsewhere, put an authenticating reverse proxy or an SSH tunnel in front."
            )
        self.model = model
        self.max_tokens_limit = max_tokens_limit
        self.count_tokens = (count_tokens or getattr(generate, "count_tokens", None)
                             or (lambda text: len(text.split())))
        self.batcher = MicroBatcher(generate, max_batch_size=max_batch_size, max_wait_s=max_wait_s)
        #: Requests being answered now (until the answer is ready), the most seen at once, and
        #: the total served.
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        try:
            self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(self))
        except OSError as exc:
            self.batcher.close()
            raise AgentGymError(
                f"Cannot listen on 127.0.0.1:{port}: {exc}. Fix: pick a free port (--port), or "
                "0 for any."
            ) from exc
        self.httpd.daemon_threads = True

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for clients, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def batch_sizes(self) -> list[int]:
        """Sizes of the generator calls so far."""
        return self.batcher.batch_sizes

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` (or Ctrl-C)."""
        self.httpd.serve_forever(poll_interval=0.1)

    def start(self) -> ChatServer:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="agentgym-serve",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5.0)
            self._thread = None
        self.httpd.server_close()
        self.batcher.close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request handling (called from the handler threads) -----------------------------------

    def models(self) -> dict[str, Any]:
        """The ``/v1/models`` listing."""
        return {"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 0, "owned_by": "agentgym"}
        ]}

    def chat_completion(self, body: Any) -> dict[str, Any]:
        """Answer one chat-completions body; raises :class:`RequestError` for a bad one."""
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object.", None)
        model = body.get("model", self.model)
        if model != self.model:
            raise RequestError(404, f"The model {model!r} does not exist; this server serves "
                               f"{self.model!r} (see GET /v1/models).", "model",
                               "model_not_found")
        messages = parse_messages(body.get("messages"))
        params = parse_params(body, max_tokens_limit=self.max_tokens_limit)
        try:
            text = self.batcher.submit(messages, params).result()
        except Exception as exc:
            raise RequestError(500, f"generation failed: {exc}", None, "server_error") from exc
        text, stopped = _cut_at_stop(text, params.stop)
        prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        completion_tokens = self.count_tokens(text)
        finish = "length" if not stopped and completion_tokens >= params.max_tokens else "stop"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _error_body(err: RequestError) -> dict[str, Any]:
    """OpenAI's error object for ``err``."""
    return {"error": {"message": err.message, "type": err.kind, "param": err.param,
                      "code": err.status}}


def _handler_class(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_ChatHandler):
        chat = server

    return Handler


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agentgym-serve"
    chat: ChatServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            log.debug("client went away before the answer")

    def _error(self, err: RequestError) -> None:
        self._send(err.status, _error_body(err))

    def _path(self) -> str:
        return re.sub(r"/+$", "", self.path.split("?", 1)[0]) or "/"

    def do_GET(self) -> None:  # http.server's name
        path = self._path()
        if path in ("/v1/models", "/models"):
            self._send(200, self.chat.models())
        elif path == "/health":
            self._send(200, {"status": "ok"})
        elif path in ("/v1/chat/completions", "/chat/completions"):
            self._error(RequestError(405, "use POST for /v1/chat/completions.", None))
        else:
            self._error(RequestError(404, f"no endpoint {path!r}; this server has "
                                     "POST /v1/chat/completions and GET /v1/models.", None))

    def do_POST(self) -> None:  # http.server's name
        # in flight from here until the answer is ready, not until it is written: a client
        # may send its next request as soon as it reads this one's answer
        self.chat._enter()
        try:
            status, payload = 200, self._complete()
        except RequestError as err:
            status, payload = err.status, _error_body(err)
        except Exception as exc:  # a bug here must not drop the connection without an answer
            log.exception("chat completion failed")
            status, payload = 500, _error_body(RequestError(500, f"internal error: {exc!r}",
                                                            None, "server_error"))
        finally:
            self.chat._leave()
        self._send(status, payload)

    def _complete(self) -> dict[str, Any]:
        """The answer to this POST (raises :class:`RequestError` for a bad request)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._path() not in ("/v1/chat/completions", "/chat/completions"):
            raise RequestError(404, f"no endpoint POST {self._path()!r}; use "
                               "/v1/chat/completions.", None)
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"the body is not valid JSON ({exc}).", None) from exc
        return self.chat.chat_completion(body)


# -- generators ------------------------------------------------------------------------------


def admissible_actions(messages: Sequence[Message]) -> list[str]:
    """The actions listed under ``Admissible actions:`` in the last user message (ReAct prompts)."""
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    _, found, rest = user.partition("Admissible actions:\n")
    if not found:
        return []
    actions = []
    for line in rest.splitlines():
        if not line.startswith("- "):
            break
        actions.append(line[2:].strip())
    return actions


def echo_generator(batch: list[list[Message]], params: GenerationParams) -> list[str]:
    """A deterministic test generator: ``Action: <first admissible action in the prompt>``.

    Where the prompt lists no admissible action it answers ``Action: look``.
    """
    out = []
    for messages in batch:
        actions = admissible_actions(messages)
        action = actions[0] if actions else "look"
        out.append(f"Thought: I will try the first admissible action.\nAction: {action}")
    return out


def hf_generator(path: str, **kwargs: Any) -> Generator:
    """A generator over a transformers causal LM, run by :class:`~agentgym.policies.hf.HFPolicy`.

    The policy is built as ``HFPolicy(path, **kwargs)`` (``device``, ``dtype``,
    ``max_prompt_tokens``, ...); each micro-batch becomes one left-padded ``generate`` call on
    the tokenizer's chat template of the request messages. A request's ``temperature``, ``top_p``
    and ``max_tokens`` replace the policy's for that batch (``top_p=0`` means greedy); its
    ``seed`` is ignored (the policy keeps its own seeded random stream). As in the policy,
    generation stops at the end of the ``Action:`` line. The returned generator also has
    ``count_tokens`` (the tokenizer's count), which :class:`ChatServer` uses for ``usage``.
    """
    from agentgym.policies.hf import HFPolicy  # imports torch and transformers when built

    policy = HFPolicy(path, **kwargs)
    tokenizer = policy.tokenizer

    def generate(batch: list[list[Message]], params: GenerationParams) -> list[str]:
        greedy = params.temperature == 0 or params.top_p == 0
        return policy.complete(
            batch,
            temperature=0.0 if greedy else params.temperature,
            top_p=1.0 if greedy else params.top_p,
            max_new_tokens=params.max_tokens,
        )

    generate.count_tokens = lambda text: len(  # type: ignore[attr-defined]
        tokenizer(text, add_special_tokens=False)["input_ids"])
    return generate
