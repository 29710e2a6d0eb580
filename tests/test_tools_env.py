"""agentgym/ToolUse-v0: calls, per-call rewards, the oracle on every test task, splits, fences."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import gymnasium as gym
import pytest

import agentgym  # noqa: F401  (registers the envs)
from agentgym.envs.tools.calls import Call, parse_call, render_call
from agentgym.envs.tools.env import DEFAULT_WEIGHTS
from agentgym.envs.tools.runtime import Tool, ToolRuntime
from agentgym.envs.tools.tasks import FAMILIES, N_TEST, answer_is_correct, held_out_task, train_pool
from agentgym.envs.tools.world import build_world
from agentgym.errors import ConfigError

ENV_ID = "agentgym/ToolUse-v0"


def _play_oracle(env: gym.Env, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _, info = env.reset(seed=seed)
    infos = [info]
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(info["expert_action"])
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        infos.append(info)
        done = terminated or truncated
    return info, infos


def test_the_oracle_solves_every_test_task_in_two_to_four_calls() -> None:
    env = gym.make(ENV_ID, split="test")
    families, lengths = Counter(), Counter()
    for seed in range(N_TEST):
        info, infos = _play_oracle(env, seed)
        assert info["won"], (seed, info)
        assert all(i["valid_action"] for i in infos[1:])
        calls = len(infos) - 1  # tool calls and the answer
        assert 3 <= calls <= 5, (seed, calls)
        assert info["subgoals_done"] == info["subgoals"]  # every plan step matched, then answered
        families[info["task"]["type"]] += 1
        lengths[calls] += 1
    env.close()
    assert families == dict.fromkeys(FAMILIES, N_TEST // len(FAMILIES))
    assert set(lengths) >= {3, 4}


def test_the_oracle_solves_training_tasks_and_earns_every_term() -> None:
    env = gym.make(ENV_ID, split="train")
    for seed in range(60):
        info, infos = _play_oracle(env, seed)
        assert info["won"]
        total = Counter()
        for i in infos[1:]:
            total.update(i["reward_terms"])
        steps = len(info["subgoals"]) - 1
        assert total["tool_choice"] == pytest.approx(DEFAULT_WEIGHTS["tool_choice"] * steps)
        assert total["arguments"] == pytest.approx(DEFAULT_WEIGHTS["arguments"] * steps)
        assert total["outcome"] == pytest.approx(1.0) and total["format"] == 0.0
    env.close()


def test_splits_are_disjoint_and_seeded() -> None:
    world = build_world()
    test_ids = {held_out_task(i).task_id for i in range(N_TEST)}
    assert len(test_ids) == N_TEST
    env = gym.make(ENV_ID, split="train")
    seen = []
    for seed in range(300):
        _, info = env.reset(seed=seed)
        seen.append(info["task"]["id"])
        assert info["task"]["id"] not in test_ids
    assert len(set(seen)) > 250  # drawn from large pools
    _, again = env.reset(seed=7)
    assert again["task"]["id"] == seen[7]
    assert all(len(train_pool(world, f)) >= 100 for f in FAMILIES)
    env.close()


def _fresh(seed: int = 0, **kwargs: Any) -> tuple[gym.Env, dict[str, Any], dict[str, Any]]:
    env = gym.make(ENV_ID, split="test", **kwargs)
    obs, info = env.reset(seed=seed)
    return env, obs, info


def test_first_observation_shows_the_tools_as_json_schemas() -> None:
    env, obs, info = _fresh()
    names = [s["function"]["name"] for s in info["tools"]]
    assert names == ["calculator", "sql", "search", "date_diff", "date_add", "convert", "answer"]
    for schema in info["tools"]:
        assert schema["type"] == "function"
        params = schema["function"]["parameters"]
        assert params["type"] == "object" and set(params["required"]) <= set(params["properties"])
        if schema["function"]["name"] != "answer":  # told in words at the end
            assert json.dumps(schema["function"]) in obs["text"]
    _, _, _, _, step_info = env.step(info["expert_action"])
    assert "tools" not in step_info  # declared once, at reset
    assert "CREATE" not in obs["text"] and "orders" in obs["text"]  # the tables are described
    assert obs["admissible_actions"] == ()
    env.close()


@pytest.mark.parametrize("action, fragment", [
    ('{"tool": "sql", "arguments": {"query": "SELECT 1"', "not valid JSON"),
    ('{"tool": "sqll", "arguments": {"query": "SELECT 1"}}', "Did you mean 'sql'"),
    ('{"tool": "sql", "arguments": {"querry": "SELECT 1"}}', "Did you mean 'query'"),
    ('{"tool": "sql", "arguments": {}}', "needs the argument 'query'"),
    ('{"tool": "convert", "arguments": {"value": "ten", "from_unit": "m", "to_unit": "ft"}}',
     "must be a number"),
    ('{"tool": "search", "arguments": {"query": "x", "k": 50}}', "between 1 and 5"),
    ('{"arguments": {"query": "x"}}', "names no tool"),
    ("search(query=open('/etc/passwd'))", "plain values"),
    ("calculator('1+1', 'extra')", "positional"),
    ("just some words", "could not be read"),
    ("answer()", "answer takes one argument"),
])
def test_malformed_calls_are_refused_with_a_format_penalty(action: str, fragment: str) -> None:
    env, obs, _ = _fresh()
    obs2, reward, terminated, _, info = env.step(action)
    assert fragment in obs2["last_action_error"]
    assert not info["valid_action"] and not terminated
    assert reward == pytest.approx(-DEFAULT_WEIGHTS["format"])
    assert info["reward_terms"]["format"] == pytest.approx(-DEFAULT_WEIGHTS["format"])
    assert obs2["text"] == obs["text"]
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(info["expert_action"])
    assert info["valid_action"]  # still usable
    env.close()


def test_a_call_the_tool_refuses_is_invalid_without_a_format_penalty() -> None:
    env, _, _ = _fresh()
    obs, reward, _, _, info = env.step('sql(query="DROP TABLE orders")')
    assert not info["valid_action"] and reward == 0.0
    assert "SELECT" in obs["last_action_error"]
    obs, _, _, _, info = env.step('sql(query="SELECT COUNT(*) FROM orders")')
    assert info["valid_action"] and "2400" in obs["text"]
    env.close()


def test_function_syntax_and_json_do_the_same() -> None:
    env, _, info = _fresh(seed=1)
    expert = json.loads(info["expert_action"])
    args = ", ".join(f"{k}={json.dumps(v)}" for k, v in expert["arguments"].items())
    as_function = f"{expert['tool']}({args})"
    obs_a, reward_a, *_ = env.step(info["expert_action"])
    env.reset(seed=1)
    obs_b, reward_b, *_ = env.step(as_function)
    assert obs_a["text"] == obs_b["text"] and reward_a == reward_b > 0
    env.close()


def test_plan_rewards_are_paid_once_and_by_share_of_arguments() -> None:
    env = gym.make(ENV_ID, split="test", families=["fact_convert"])
    _, info = env.reset(seed=0)
    search = info["expert_action"]
    _, r1, _, _, info = env.step(search)
    assert r1 == pytest.approx(DEFAULT_WEIGHTS["tool_choice"] + DEFAULT_WEIGHTS["arguments"])
    _, r2, _, _, _ = env.step(search)  # the same call again earns nothing
    assert r2 == 0.0
    convert = json.loads(info["expert_action"])
    assert convert["tool"] == "convert"
    wrong = {**convert["arguments"], "to_unit": "cm"}
    _, r3, _, _, info = env.step(render_call("convert", wrong))
    assert r3 == pytest.approx(DEFAULT_WEIGHTS["tool_choice"]
                               + DEFAULT_WEIGHTS["arguments"] * 2 / 3)
    spelled = {**convert["arguments"], "to_unit": {"ft": "feet", "yd": "yards"}.get(
        convert["arguments"]["to_unit"], "miles")}
    _, r4, _, _, info = env.step(render_call("convert", spelled))  # unit names are understood
    assert r4 == pytest.approx(DEFAULT_WEIGHTS["arguments"] / 3)
    assert json.loads(info["expert_action"])["tool"] == "answer"
    env.close()


def test_answers_are_judged_within_the_rounding_asked() -> None:
    task = next(held_out_task(i) for i in range(N_TEST) if held_out_task(i).digits == 2)
    value = float(task.answer)
    assert answer_is_correct(task, task.answer)
    assert answer_is_correct(task, f"It cost {value + 0.004:.3f} dollars")
    assert answer_is_correct(task, f"{value:,.2f}")
    assert not answer_is_correct(task, f"{value + 0.02:.2f}")
    assert not answer_is_correct(task, "I do not know")


def test_a_wrong_answer_ends_the_episode_lost() -> None:
    env, _, _ = _fresh(seed=3)
    _, reward, terminated, _, info = env.step('answer("-1")')
    assert terminated and info["lost"] and not info["won"] and reward == 0.0
    assert info["answer"]["correct"] is False
    env.close()


def test_escapes_through_the_env_are_refused_and_the_env_stays_usable(tmp_path) -> None:
    env, _, _ = _fresh()
    target = tmp_path / "x.db"
    for action in [
        f'sql(query="ATTACH DATABASE \'{target}\' AS x")',
        'calculator("__import__(\'os\').system(\'true\')")',
        'calculator("9**9**9")',
        'sql(query="WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) '
        'SELECT COUNT(*) FROM c")',
    ]:
        _, _, terminated, _, info = env.step(action)
        assert not info["valid_action"] and not terminated, action
    assert not target.exists()
    obs, _, _, _, info = env.step('calculator("6 * 7")')
    assert info["valid_action"] and obs["text"].endswith("42")
    env.close()


def test_the_runtime_fences_tools_off_the_file_system_and_network(tmp_path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("s3cret")

    def reader(name: str) -> tuple[str, Any]:
        with open(name) as handle:  # what a careless user tool might do
            return handle.read(), None

    def lister(name: str) -> tuple[str, Any]:
        return str(os.listdir(name)), None

    def dialer(name: str) -> tuple[str, Any]:
        import socket

        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
        return "connected", None

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    runtime = ToolRuntime([Tool("read", "", schema, reader), Tool("ls", "", schema, lister),
                           Tool("dial", "", schema, dialer)])
    for tool in ("read", "ls", "dial"):
        result = runtime.call(Call(tool, {"name": str(path) if tool != "ls" else str(tmp_path)}))
        assert not result.ok and "may not use" in result.text, (tool, result.text)
        assert "s3cret" not in result.text
    assert path.read_text() == "s3cret"  # and outside a call, the process is as before


def test_bad_env_arguments_name_the_field() -> None:
    with pytest.raises(ConfigError, match="families"):
        gym.make(ENV_ID, families=["sql_calcc"])
    with pytest.raises(ConfigError, match="weights"):
        gym.make(ENV_ID, weights={"formatt": 1.0})
    with pytest.raises(ConfigError, match="limits"):
        gym.make(ENV_ID, limits={"time": 1.0})


def test_parse_call_reads_openai_tool_calls_and_fences() -> None:
    openai_style = {"type": "function", "function": {
        "name": "sql", "arguments": json.dumps({"query": "SELECT 1"})}}
    assert parse_call(json.dumps(openai_style)) == Call("sql", {"query": "SELECT 1"})
    fenced = '```json\n{"tool": "calculator", "arguments": {"expression": "1+1"}}\n```'
    assert parse_call(fenced) == Call("calculator", {"expression": "1+1"})
    assert parse_call('answer(42)') == Call("answer", {}, (42,))
