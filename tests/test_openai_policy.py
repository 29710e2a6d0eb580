"""OpenAIPolicy against real HTTP servers on 127.0.0.1: agentgym's own chat server, and a small
scripted one for failures (503s, 429s) and logprobs that the chat server does not produce."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentgym.cli import build_server, main
from agentgym.errors import AgentGymError, ConfigError
from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.registry import make_policy
from agentgym.serve import (
    ChatServer,
    GenerationParams,
    admissible_actions,
    echo_generator,
    hf_generator,
)
from agentgym.types import AgentInput

PREFERENCE = ("take", "unlock", "open", "go")


def chooser(batch: list[list[dict]], params: GenerationParams) -> list[str]:
    """Deterministic stand-in for a model: an expert-like pick among the listed actions."""
    out = []
    for messages in batch:
        actions = admissible_actions(messages)
        pick = next((a for p in PREFERENCE for a in actions if a.startswith(p)), None)
        pick = pick or (actions[0] if actions else "look")
        out.append(f"Thought: {pick} gets me closer.\nAction: {pick}")
    return out


def inputs(n: int) -> list[AgentInput]:
    return [
        AgentInput(env_id="t", goal="reach the exit", observation=f"room {i}",
                   admissible_actions=["look", f"take key {i}", "inventory"])
        for i in range(n)
    ]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer(chooser, port=0, model="test", max_wait_s=0.002) as s:
        yield s


def policy_for(url: str, **kw) -> OpenAIPolicy:
    defaults = {"model": "test", "timeout_s": 5.0, "max_retries": 0, "backoff_s": 0.01}
    return OpenAIPolicy(base_url=url, **{**defaults, **kw})


def post(url: str, body: object) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + "/chat/completions", data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- the policy against agentgym's server -----------------------------------------------------


def test_batch_act_returns_parsed_actions_in_order(server: ChatServer) -> None:
    outs = policy_for(server.url).act(inputs(5))
    assert [o.action for o in outs] == [f"take key {i}" for i in range(5)]
    assert all(o.text.startswith("Thought: take key") for o in outs)
    assert all(o.prompt_ids is None and o.action_logprobs is None for o in outs)
    assert outs[0].meta["finish_reason"] == "stop" and outs[0].meta["usage"]["total_tokens"] > 0
    assert server.requests == 5


def test_empty_model_uses_the_first_served_one(server: ChatServer) -> None:
    policy = policy_for(server.url, model="")
    assert policy.act(inputs(1))[0].action == "take key 0"
    assert policy.model == "test"


def test_concurrency_is_bounded() -> None:
    def slow(batch, params):
        time.sleep(0.1)
        return chooser(batch, params)

    with ChatServer(slow, port=0, model="test", max_wait_s=0.0) as server:
        outs = policy_for(server.url, concurrency=2).act(inputs(6))
    assert [o.action for o in outs] == [f"take key {i}" for i in range(6)]
    assert server.requests == 6
    assert server.max_in_flight == 2  # used, and never exceeded


def test_concurrent_requests_are_micro_batched() -> None:
    with ChatServer(chooser, port=0, model="test", max_wait_s=0.1) as server:
        outs = policy_for(server.url, concurrency=4).act(inputs(4))
    assert [o.action for o in outs] == [f"take key {i}" for i in range(4)]
    assert sum(server.batch_sizes) == 4
    assert max(server.batch_sizes) > 1, server.batch_sizes


def test_different_sampling_settings_are_separate_generator_calls() -> None:
    seen: list[tuple[float, int]] = []

    def record(batch, params):
        seen.append((params.temperature, len(batch)))
        return chooser(batch, params)

    with ChatServer(record, port=0, model="test", max_wait_s=0.2) as server:
        threads = [threading.Thread(target=policy_for(server.url, temperature=t).act,
                                    args=(inputs(2),)) for t in (0.0, 0.7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(seen) == [(0.0, 2), (0.7, 2)]


def test_bad_request_is_an_error_naming_the_field_without_retries() -> None:
    with ChatServer(chooser, port=0, model="test", max_tokens_limit=16) as server:
        with pytest.raises(AgentGymError, match=r"HTTP 400.*'max_tokens' = 1000 exceeds"):
            policy_for(server.url, max_tokens=1000, max_retries=3).act(inputs(1))
        assert server.requests == 1


def test_unknown_model_says_what_is_served(server: ChatServer) -> None:
    with pytest.raises(AgentGymError, match=r"HTTP 404.*'nope' does not exist.*'test'.*Fix"):
        policy_for(server.url, model="nope").act(inputs(1))


def test_timeout_is_a_clear_error_after_retries() -> None:
    def slow(batch, params):
        time.sleep(0.3)
        return chooser(batch, params)

    with ChatServer(slow, port=0, model="test", max_wait_s=0.0) as server:
        start = time.monotonic()
        with pytest.raises(AgentGymError, match=r"after 2 attempt\(s\): timed out after 0.1 s"):
            policy_for(server.url, timeout_s=0.1, max_retries=1).act(inputs(1))
        assert time.monotonic() - start < 3.0  # 2 x 0.1 s, plus slack for a busy machine
        assert server.requests == 2


def test_unreachable_server_is_retried_then_explained() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(AgentGymError, match=r"after 3 attempt\(s\): cannot connect.*Fix"):
        policy_for(f"http://127.0.0.1:{port}/v1", max_retries=2).act(inputs(1))


def test_generator_failure_is_a_500_and_the_server_lives_on() -> None:
    calls = []

    def flaky(batch, params):
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return chooser(batch, params)

    with ChatServer(flaky, port=0, model="test") as server:
        out = policy_for(server.url, max_retries=1).act(inputs(1))
    assert out[0].action == "take key 0" and len(calls) == 2


# -- a scripted server for what agentgym's server does not do ----------------------------------


class Scripted:
    """Answers POSTs from a list of (status, headers, body); the last one repeats."""

    def __init__(self, script: list[tuple[int, dict, dict]]) -> None:
        self.script, self.bodies = script, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                status, headers, body = outer.script[min(len(outer.bodies), len(outer.script)) - 1]
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Scripted:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text: str, logprobs: list[float] | None = None) -> dict:
    lp = {"content": [{"token": "t", "logprob": v} for v in logprobs]} if logprobs else None
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop", "logprobs": lp}]}


@pytest.mark.parametrize("status", [503, 429])
def test_overloaded_server_is_retried_honouring_retry_after(status: int) -> None:
    busy = (status, {"Retry-After": "0"}, {"error": {"message": "busy"}})
    with Scripted([busy, busy, (200, {}, completion("Action: go north"))]) as srv:
        start = time.monotonic()
        # backoff_s=30 would take a minute: only Retry-After: 0 makes this fast
        out = policy_for(srv.url, max_retries=2, backoff_s=30.0).act(inputs(1))
        assert time.monotonic() - start < 5.0
    assert out[0].action == "go north" and len(srv.bodies) == 3


def test_backoff_doubles_without_retry_after() -> None:
    busy = (500, {}, {"error": {"message": "boom"}})
    with Scripted([busy, busy, (200, {}, completion("Action: look"))]) as srv:
        start = time.monotonic()
        assert policy_for(srv.url, max_retries=2, backoff_s=0.1).act(inputs(1))[0].action == "look"
        assert time.monotonic() - start >= 0.3  # 0.1 + 0.2


@pytest.mark.parametrize("body", [
    {"error": {"message": "Incorrect API key provided."}},  # OpenAI
    {"object": "error", "message": "Incorrect API key provided", "code": 401},  # older vLLM
])
def test_client_errors_carry_the_servers_message_and_the_fix(body: dict) -> None:
    refused = (401, {}, body)
    with Scripted([refused]) as srv:
        with pytest.raises(AgentGymError, match=r"401: Incorrect API key provided.*MY_KEY"):
            policy_for(srv.url, api_key_env="MY_KEY", max_retries=3).act(inputs(1))
        assert len(srv.bodies) == 1


def test_request_body_and_logprobs(monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-test")
    with Scripted([(200, {}, completion("Thought: x\nAction: open door", [-0.5, -0.25]))]) as srv:
        policy = policy_for(srv.url, api_key_env="MY_KEY", logprobs=True, stop=["\nObs"],
                            temperature=0.3, max_tokens=12, think=False)
        out = policy.act(inputs(1))[0]
    assert out.action == "open door" and out.action_logprobs == [-0.5, -0.25]
    body = srv.bodies[0]
    assert body["model"] == "test" and body["logprobs"] is True and body["stop"] == ["\nObs"]
    assert body["temperature"] == 0.3 and body["max_tokens"] == 12
    assert "Action: <action>" in body["messages"][0]["content"]  # think=False prompt
    assert "- take key 0" in body["messages"][1]["content"]


# -- the server's own contract ------------------------------------------------------------------


def test_server_response_shape_and_models(server: ChatServer) -> None:
    status, body = post(server.url, {"model": "test", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Admissible actions:\n- go east"}]}]})
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "test"
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    assert body["choices"][0]["message"]["content"].endswith("Action: go east")
    assert body["choices"][0]["finish_reason"] == "stop"
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    with urllib.request.urlopen(server.url + "/models", timeout=5) as response:
        assert [m["id"] for m in json.loads(response.read())["data"]] == ["test"]


def test_server_cuts_at_stop_strings_and_reports_length() -> None:
    def chatty(batch, params):
        return ["Action: go\nObservation: more words here"] * len(batch)

    with ChatServer(chatty, port=0, model="m") as server:
        msg = [{"role": "user", "content": "hi"}]
        _, body = post(server.url, {"messages": msg, "stop": "\nObservation:"})
        assert body["choices"][0]["message"]["content"] == "Action: go"
        assert body["choices"][0]["finish_reason"] == "stop"
        _, body = post(server.url, {"messages": msg, "max_tokens": 2})
        assert body["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "test"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 5}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "x"}], "stop": [1]}, "stop"),
        ({"messages": [{"role": "user", "content": "x"}], "stream": True}, "stream"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        (b"{not json", None),
    ],
)
def test_server_rejects_bad_requests_naming_the_field(server, body, param) -> None:
    status, answer = post(server.url, body)
    assert status == 400
    assert answer["error"]["param"] == param
    if param:
        assert f"'{param}'" in answer["error"]["message"]


def test_server_refuses_non_loopback_hosts(capsys) -> None:
    refused = r"loopback.*'0\.0\.0\.0'.*Fix: use --host 127\.0\.0\.1"
    with pytest.raises(AgentGymError, match=refused):
        ChatServer(echo_generator, host="0.0.0.0", port=0)
    assert main(["serve", "--echo", "--host", "192.168.1.5", "--port", "0"]) == 2
    assert "binds the loopback interface only" in capsys.readouterr().err


def test_serve_command_options(capsys) -> None:
    assert main(["serve", "--port", "0"]) == 2
    assert "--policy-path DIR" in capsys.readouterr().err
    assert main(["serve", "--echo", "--prot", "1"]) == 2
    assert "unrecognized arguments: --prot" in capsys.readouterr().err
    assert main(["serve", "--help"]) == 0 and "--batch-wait-ms" in capsys.readouterr().out
    server = build_server(["--echo", "--port", "0", "--batch-wait-ms", "1"])
    with server:
        assert server.model == "echo" and server.batcher.max_wait_s == 0.001
        assert policy_for(server.url, model="").act(inputs(1))[0].action == "look"


# -- config and CLI -----------------------------------------------------------------------------


def test_config_checks_values() -> None:
    with pytest.raises(ConfigError, match=r"policy.temperature.*\[0, 2\]"):
        OpenAIPolicy(temperature=3.0)
    with pytest.raises(ConfigError, match=r"policy.base_url.*http://"):
        make_policy({"name": "openai", "base_url": "127.0.0.1:8000"})
    with pytest.raises(ConfigError, match=r"policy.concurrency"):
        make_policy({"name": "openai", "concurrency": 0})


def test_eval_end_to_end_through_the_cli(tmp_path: Path) -> None:
    with ChatServer(echo_generator, port=0, model="echo") as server:
        code = main([
            "eval", "env.id=agentgym/KeyDoor-v0", "policy=openai", f"policy.base_url={server.url}",
            "policy.model=echo", "episodes=3", f"run.dir={tmp_path}", "run.name=o",
            "rollout.progress=false",
        ])
        assert code == 0
        assert server.requests > 3 and max(server.batch_sizes) <= 3
    report = json.loads((tmp_path / "o" / "results.json").read_text())
    assert report["overall"]["episodes"] == 3
    assert report["overall"]["invalid_action_rate"] == 0.0  # echo picks listed actions
    lines = (tmp_path / "o" / "trajectories" / "agentgym_KeyDoor-v0.jsonl").read_text().splitlines()
    step = json.loads(lines[0])["steps"][0]
    assert step["raw_output"].startswith("Thought:") and step["action"] == "take blue key"


# -- a real transformers model behind the server -----------------------------------------------


def test_hf_generator_serves_a_tiny_model_in_batches(tiny_checkpoint: Path) -> None:
    generate = hf_generator(str(tiny_checkpoint), device="cpu")
    with ChatServer(generate, port=0, model="tiny", max_wait_s=0.1) as server:
        # a generous timeout: CPU generation slows down a lot on a busy machine
        policy = policy_for(server.url, model="tiny", concurrency=3, max_tokens=24, timeout_s=60)
        first, again = policy.act(inputs(3)), policy.act(inputs(3))
    assert [o.text for o in first] == [o.text for o in again]  # temperature 0: greedy
    assert all(o.action == policy.format.parse(o.text) for o in first)
    assert max(server.batch_sizes) > 1 and sum(server.batch_sizes) == 6
    usage = first[0].meta["usage"]
    assert 0 < usage["completion_tokens"] <= 24 and usage["prompt_tokens"] > 20


def test_serve_command_loads_a_model_path(tiny_checkpoint: Path) -> None:
    with build_server(["--policy-path", str(tiny_checkpoint), "--port", "0", "--device", "cpu",
                       "--model-name", "tiny"]) as server:
        out = policy_for(server.url, model="", max_tokens=8, timeout_s=60).act(inputs(1))
    assert server.model == "tiny" and isinstance(out[0].text, str)


def tool_call(name: str, arguments: dict, content: str | None = None) -> dict:
    call = {"id": "call_0", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}
    return {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": content, "tool_calls": [call]}}]}


def test_native_tools_offer_the_env_functions_and_a_call_is_the_action() -> None:
    """With native_tools, the tool-use env's declared functions go out as `tools`; the model's
    function calls come back as JSON actions the env runs: a whole episode, won."""
    from agentgym.rollout import RolloutConfig, rollout

    script = [(200, {}, tool_call("search", {"query": "Norul River"}, "Look it up.")),
              (200, {}, tool_call("convert", {"value": 621.5, "from_unit": "km",
                                              "to_unit": "mi"})),
              (200, {}, tool_call("answer", {"answer": "386.2"}))]
    with Scripted(script) as srv:
        policy = policy_for(srv.url, native_tools=True)
        trajs = rollout("agentgym/ToolUse-v0", policy, episodes=1, seed=1,
                        env_kwargs={"split": "test"},
                        config=RolloutConfig(num_envs=1, progress=False))
    assert trajs[0].success and len(trajs[0].steps) == 3
    assert [s.info["valid_action"] for s in trajs[0].steps] == [True, True, True]
    names = [t["function"]["name"] for t in srv.bodies[0]["tools"]]
    assert names[-1] == "answer" and "sql" in names
    assert all(b["tools"] == srv.bodies[0]["tools"] and b["tool_choice"] == "auto"
               for b in srv.bodies)
    assert trajs[0].steps[0].action == '{"tool": "search", "arguments": "{\\"query\\": ' \
                                       '\\"Norul River\\"}"}'


def test_without_native_tools_no_tools_are_sent_and_text_is_parsed() -> None:
    with Scripted([(200, {}, completion("Action: look"))]) as srv:
        batch = inputs(1)
        batch[0].tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
        out = policy_for(srv.url).act(batch)
    assert out[0].action == "look" and "tools" not in srv.bodies[0]
