"""A policy behind any OpenAI-compatible ``/v1/chat/completions`` endpoint.

vLLM's and SGLang's servers, llama.cpp's ``llama-server``, hosted APIs and ``agentgym serve`` all
speak this protocol. Only the standard library is used (``urllib.request`` + ``json``): one HTTP
request per agent input, sent concurrently, retried with exponential backoff when the server is
unreachable, overloaded (429) or failing (5xx).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from agentgym.errors import AgentGymError, ConfigError
from agentgym.prompts import Message, ReActFormat
from agentgym.types import ActionOutput, AgentInput

__all__ = ["OpenAIPolicy", "OpenAIPolicyConfig"]

log = logging.getLogger(__name__)

#: Longest wait a server's ``Retry-After`` header may ask for.
MAX_RETRY_AFTER_S = 60.0


@dataclass(kw_only=True)
class OpenAIPolicyConfig:
    """Config of :class:`OpenAIPolicy`."""

    base_url: str = "http://127.0.0.1:8000/v1"
    """Server root, up to and including ``/v1`` (``/chat/completions`` is appended)."""
    model: str = ""
    """Model name sent with each request; empty: the first model the server lists at ``/models``."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key (unset is fine for local servers)."""
    temperature: float = 0.0
    """Sampling temperature (0: greedy)."""
    top_p: float = 1.0
    """Nucleus sampling mass."""
    max_tokens: int = 256
    """Most tokens generated per action."""
    stop: list[str] | None = None
    """Strings that end a generation (e.g. ``["\\nObservation:"]``); null: none."""
    concurrency: int = 8
    """Most requests in flight at once (per ``act`` call)."""
    timeout_s: float = 60.0
    """Seconds to wait for one response before it counts as a failed attempt."""
    max_retries: int = 3
    """Retries after a connection error, timeout, 429 or 5xx (0: fail on the first)."""
    backoff_s: float = 1.0
    """First retry delay; doubles each retry (a server's ``Retry-After`` takes precedence)."""
    think: bool = True
    """Ask for ``Thought: ...`` before ``Action: ...`` (ReAct); false: the action line only."""
    history_turns: int = 8
    """Past (observation, action) turns shown in the prompt."""
    logprobs: bool = False
    """Request token log-probabilities and store them as ``action_logprobs`` when returned."""
    native_tools: bool = False
    """Send the env's function schemas (``AgentInput.tools``) as ``tools`` and take a function
    call in the reply as the action (``{"tool": name, "arguments": ...}``)."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                "policy.base_url", f"must start with http:// or https://, got {self.base_url!r}.",
                "use e.g. http://127.0.0.1:8000/v1.",
            )
        checks = [
            ("temperature", 0.0 <= self.temperature <= 2.0, "in [0, 2]", "0.0"),
            ("top_p", 0.0 < self.top_p <= 1.0, "in (0, 1]", "1.0"),
            ("max_tokens", self.max_tokens >= 1, ">= 1", "256"),
            ("concurrency", self.concurrency >= 1, ">= 1", "8"),
            ("timeout_s", self.timeout_s > 0, "> 0", "60"),
            ("max_retries", self.max_retries >= 0, ">= 0", "3"),
            ("backoff_s", self.backoff_s >= 0, ">= 0", "1.0"),
            ("history_turns", self.history_turns >= 0, ">= 0", "8"),
        ]
        for name, ok, allowed, example in checks:
            if not ok:
                raise ConfigError(
                    f"policy.{name}", f"must be {allowed}, got {getattr(self, name)!r}.",
                    f"use e.g. {example}.",
                )
        if self.stop is not None and not all(isinstance(s, str) and s for s in self.stop):
            raise ConfigError(
                "policy.stop", f"must be a list of non-empty strings, got {self.stop!r}.",
                'use e.g. ["\\nObservation:"] or null.',
            )


def _function_call(calls: Any) -> str | None:
    """The first function call of a reply as an action: ``{"tool": name, "arguments": ...}``
    (the arguments as the model wrote them: a JSON string, or an object); None if there is
    none."""
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            arguments = function.get("arguments", {})
            return json.dumps({"tool": function["name"], "arguments": arguments},
                              ensure_ascii=False)
    return None


class _Retryable(Exception):
    """A failed attempt worth repeating; ``wait_s`` is the server's Retry-After, if it gave one."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.wait_s = wait_s


class OpenAIPolicy:
    """Acts through an OpenAI-compatible chat-completions server.

    Each input becomes ReAct chat messages (:class:`~agentgym.prompts.ReActFormat`); up to
    ``concurrency`` requests run at once and the answers come back in input order. Token ids are
    not available over this protocol, so ``prompt_ids`` / ``action_ids`` stay ``None``;
    ``action_logprobs`` is filled when ``logprobs=True`` and the server returns them.

    Args:
        base_url: Server root including ``/v1``.
        model: Model name; empty asks the server (``GET /models``) on first use.
        api_key_env: Environment variable with the API key (sent as a Bearer token when set).
        temperature: Sampling temperature.
        top_p: Nucleus sampling mass.
        max_tokens: Most generated tokens per action.
        stop: Stop strings, or ``None``.
        concurrency: Most requests in flight at once.
        timeout_s: Seconds per attempt.
        max_retries: Retries on connection errors, timeouts, 429 and 5xx.
        backoff_s: First retry delay, doubled each retry.
        think: Ask for a thought before the action.
        history_turns: Past turns shown in the prompt.
        logprobs: Request token log-probabilities.
        native_tools: Pass the env's declared functions as ``tools`` (where the env declares
            some, e.g. ``agentgym/ToolUse-v0``) and turn the model's first function call into
            the action, as JSON; a reply without one is parsed as text.
    """

    def __init__(
        self,
        *,
        base_url: str = "http://127.0.0.1:8000/v1",
        model: str = "",
        api_key_env: str = "OPENAI_API_KEY",
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        think: bool = True,
        history_turns: int = 8,
        logprobs: bool = False,
        native_tools: bool = False,
    ) -> None:
        self.config = OpenAIPolicyConfig(
            base_url=base_url, model=model, api_key_env=api_key_env, temperature=temperature,
            top_p=top_p, max_tokens=max_tokens, stop=stop, concurrency=concurrency,
            timeout_s=timeout_s, max_retries=max_retries, backoff_s=backoff_s, think=think,
            history_turns=history_turns, logprobs=logprobs, native_tools=native_tools,
        )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.format = ReActFormat(think=think, history_turns=history_turns)
        self._api_key = os.environ.get(api_key_env) or None

    # -- public ------------------------------------------------------------------------------

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        """One chat completion per input (at most ``concurrency`` at once), in input order."""
        if not batch:
            return []
        model = self.resolve_model()
        messages = [self.format.messages(inp) for inp in batch]
        workers = min(self.config.concurrency, len(batch))
        tools = [inp.tools if self.config.native_tools else None for inp in batch]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-policy") as pool:
            responses = list(pool.map(lambda m, t: self.complete(m, model=model, tools=t),
                                      messages, tools))
        return [self._output(r) for r in responses]

    def resolve_model(self) -> str:
        """The model name to send: the configured one, or the first one the server lists."""
        if not self.model:
            listing = self._request("GET", "/models")
            names = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)]
            if not names or not isinstance(names[0], str):
                raise AgentGymError(
                    f"{self.base_url}/models lists no model, so policy.model cannot be guessed. "
                    "Fix: set policy.model to the name the server serves."
                )
            self.model = names[0]
            log.info("Using model %r, the first one %s serves.", self.model, self.base_url)
        return self.model

    def complete(self, messages: list[Message], *, model: str | None = None,
                 tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """POST one chat-completions request (with retries) and return the decoded response;
        ``tools`` (function schemas) are offered to the model with ``tool_choice: auto``."""
        cfg = self.config
        body: dict[str, Any] = {
            "model": model or self.resolve_model(),
            "messages": messages,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "max_tokens": cfg.max_tokens,
            "n": 1,
            "stream": False,
        }
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        if cfg.logprobs:
            body["logprobs"] = True
        if tools:
            body["tools"], body["tool_choice"] = list(tools), "auto"
        return self._request("POST", "/chat/completions", body)

    # -- internals ---------------------------------------------------------------------------

    def _output(self, response: dict[str, Any]) -> ActionOutput:
        try:
            choice = response["choices"][0]
            text = choice["message"].get("content") or ""
            calls = choice["message"].get("tool_calls") or []
        except (KeyError, IndexError, TypeError) as exc:
            raise AgentGymError(
                f"{self.base_url}/chat/completions answered without choices[0].message.content "
                f"({str(response)[:200]}). Fix: point policy.base_url at an OpenAI-compatible "
                "chat-completions server."
            ) from exc
        logprobs = None
        content = (choice.get("logprobs") or {}).get("content") if self.config.logprobs else None
        if content:
            logprobs = [float(t["logprob"]) for t in content]
        meta = {"finish_reason": choice.get("finish_reason")}
        if response.get("usage"):
            meta["usage"] = response["usage"]
        action = self.format.parse(text)
        call = _function_call(calls)
        if call is not None:  # a native function call is the action; the text is its thought
            action = call
            text = f"{text}\n{call}" if text else call
            meta["tool_call"] = True
        return ActionOutput(text=text, action=action, action_logprobs=logprobs, meta=meta)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict:
        """Send one request, retrying retryable failures with exponential backoff."""
        url = self.base_url + path
        cfg = self.config
        for attempt in range(cfg.max_retries + 1):
            try:
                return self._attempt(method, url, body)
            except _Retryable as exc:
                if attempt == cfg.max_retries:
                    raise AgentGymError(
                        f"{method} {url} failed after {attempt + 1} attempt(s): {exc}. Fix: check "
                        "that the server is running and reachable at policy.base_url, or raise "
                        "policy.timeout_s / policy.max_retries for a slow or busy server."
                    ) from exc
                wait = cfg.backoff_s * 2**attempt
                if exc.wait_s is not None:
                    wait = min(max(exc.wait_s, 0.0), MAX_RETRY_AFTER_S)
                log.warning("%s %s: %s; retry %d/%d in %.2f s.", method, url, exc, attempt + 1,
                            cfg.max_retries, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _attempt(self, method: str, url: str, body: dict[str, Any] | None) -> dict:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            message = _error_message(exc)
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}: {message}", _retry_after(exc)) from exc
            raise AgentGymError(
                f"{method} {url} was refused with HTTP {exc.code}: {message}. "
                f"Fix: {self._fix_for(exc.code)}"
            ) from exc
        except TimeoutError as exc:
            raise _Retryable(f"timed out after {self.config.timeout_s} s") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _Retryable(f"timed out after {self.config.timeout_s} s") from exc
            raise _Retryable(f"cannot connect ({exc.reason})") from exc
        except (ConnectionError, http.client.HTTPException) as exc:
            raise _Retryable(f"connection failed ({exc!r})") from exc
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AgentGymError(
                f"{method} {url} answered with something that is not JSON: {raw[:200]!r}. "
                "Fix: point policy.base_url at an OpenAI-compatible server (ending in /v1)."
            ) from exc

    def _fix_for(self, code: int) -> str:
        if code in (401, 403):
            return (f"set the environment variable {self.config.api_key_env} to a valid API key "
                    "(policy.api_key_env names the variable).")
        if code == 404:
            return ("check policy.base_url (it should end in /v1) and policy.model (GET "
                    f"{self.base_url}/models lists what the server serves; leave policy.model "
                    "empty to use the first).")
        return "change the policy setting the message names (policy.<field>=...)."


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The server's own words: OpenAI's ``{"error": {"message": ...}}`` or the raw body."""
    try:
        raw = exc.read().decode("utf-8", "replace")
    except OSError:  # the body is a courtesy; the status code says enough
        return exc.reason or ""
    try:
        decoded = json.loads(raw)
        # OpenAI: {"error": {"message": ...}}; older vLLM: {"object": "error", "message": ...}
        error = decoded.get("error") or decoded.get("message") or decoded.get("detail")
    except (json.JSONDecodeError, AttributeError):
        return raw.strip()[:500] or str(exc.reason)
    if isinstance(error, dict):
        return str(error.get("message") or error).rstrip(".")
    return str(error or raw)[:500].rstrip(".")


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None
