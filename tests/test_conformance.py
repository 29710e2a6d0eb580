"""Conformance tests run over every environment registered in the ``agentgym`` namespace.

A new environment is covered as soon as it registers; one that needs constructor arguments to be
made gets them from :data:`ENV_KWARGS`.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agentgym.registration import make, registered_ids

ENV_IDS = registered_ids("agentgym")

ENV_KWARGS: dict[str, dict[str, Any]] = {
    # "agentgym/Example-v0": {"data_dir": ...},
    # Four small games per split, generated once into a cache that outlives the test session.
    "agentgym/TextWorld-v0": {
        "challenge": "tw-treasure_hunter",
        "options": {"level": 5},
        "num_games": 4,
        "cache_dir": str(Path(__file__).resolve().parents[1] / ".scratch" / "textworld"),
    },
}
"""Keyword arguments an env needs to be made at all (on top of ``split``)."""

ALFWORLD_DATA = Path(__file__).resolve().parents[1] / ".scratch" / "alfworld"
ENV_KWARGS["agentgym/ALFWorld-v0"] = {"data_dir": str(ALFWORLD_DATA)}

ENV_PREPARE: dict[str, Any] = {
    # ALFWorld's game data cannot be downloaded here: household tasks written as ALFWorld game
    # files (small scenes, which ALFWorld's engine loads in well under a second) stand in.
    "agentgym/ALFWorld-v0": lambda: __import__("agentgym.envs.alfworld", fromlist=["x"])
    .export_household_games(ALFWORLD_DATA, per_split=4, max_receptacles=8, max_objects=10),
}
"""Set-up an env needs before it can be made (run once per session, lazily)."""

ENV_REQUIRES: dict[str, str] = {
    "agentgym/TextWorld-v0": "textworld",
    "agentgym/ALFWorld-v0": "alfworld",
}
"""Optional packages an env needs; its tests are skipped where the package is missing."""

SPLITS = ("train", "valid", "test")
"""Splits of an env whose task class does not name its own (``Task.splits``)."""


def _env_splits(env_id: str) -> tuple[str, ...]:
    """The splits an env offers: its task class's ``splits``, read without making the env."""
    module, _, name = str(gym.spec(env_id).entry_point).partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError:  # an optional dependency is missing; its tests skip themselves
        return SPLITS
    own = getattr(cls, "splits", None)  # envs not built on a Task name their splits themselves
    return tuple(own or getattr(getattr(cls, "task_class", None), "splits", SPLITS))


ENV_SPLITS = [(env_id, split) for env_id in ENV_IDS for split in _env_splits(env_id)]
ALL_SPLITS = {split for _, split in ENV_SPLITS} | set(SPLITS)
ORACLE_SEEDS = range(20)

# Actions no environment can accept: not text, or nothing left once cleaned, or far too long.
ALWAYS_INVALID: list[Any] = [
    "",
    " ",
    "\t\n\r \x0b\x0c",
    "\x00",
    "\x00\x01\x02\x1b\x7f",
    "a" * 200_000,
    "go north " * 25_000,
    None,
    123,
    4.5,
    ["look"],
    {"tool": "calc"},
    object(),
]

# Odd text that an env may or may not understand; it must never crash it.
ODD_TEXT: list[Any] = [
    "🙂🚪🔑",
    "ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ",
    "Ω≈ç√∫˜µ≤≥÷",
    "\u202egnp.exe",
    "\ud800",
    "look\x00",
    "\x1b[31mlook\x1b[0m",
    "click [12]",
    "search[red shoes]",
    '{"tool": "calc", "args": {}}',
    "go to countertop 1",
    "Thought: I should look around.\nAction: look",
    "'; DROP TABLE tasks; --",
    "go " * 1000,
    b"bytes",
    b"\xff\xfe\x00",
]


def _make(env_id: str, **kwargs: Any) -> gym.Env:
    if env_id in ENV_REQUIRES:
        pytest.importorskip(ENV_REQUIRES[env_id])
    if env_id in ENV_PREPARE:
        ENV_PREPARE.pop(env_id)()
    return make(env_id, **{**ENV_KWARGS.get(env_id, {}), **kwargs})


def _check_info(info: dict[str, Any], split: str | None = None) -> None:
    for key in ("won", "valid_action", "reward_terms", "task"):
        assert key in info, f"info lacks {key!r}: {sorted(info)}"
    assert isinstance(info["won"], bool)
    assert isinstance(info["valid_action"], bool)
    assert isinstance(info["reward_terms"], dict)
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in info["reward_terms"].items())
    task = info["task"]
    assert {"id", "type", "split"} <= set(task), f"info['task'] lacks keys: {task}"
    assert isinstance(task["id"], str) and task["id"]
    assert isinstance(task["type"], str)
    assert task["split"] == (split or task["split"]) and task["split"] in ALL_SPLITS


def _check_step(env: gym.Env, result: tuple, split: str | None = None) -> None:
    obs, reward, terminated, truncated, info = result
    assert env.observation_space.contains(obs), f"observation outside the space: {obs!r:.500}"
    assert isinstance(reward, float)
    assert isinstance(terminated, bool) and isinstance(truncated, bool)
    _check_info(info, split)
    assert sum(info["reward_terms"].values()) == pytest.approx(reward)
    # The grounding signal and the error text tell the same story.
    assert info["valid_action"] == (obs["last_action_error"] == ""), (info, obs)


def _random_action(env: gym.Env, obs: dict[str, Any], rng: np.random.Generator) -> str:
    actions = obs["admissible_actions"]
    if actions:
        return actions[int(rng.integers(len(actions)))]
    return env.action_space.sample()


def _canon(x: Any) -> Any:
    """A comparable form of observations and infos (numpy arrays become lists)."""
    if isinstance(x, dict):
        return {k: _canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_canon(v) for v in x]
    if isinstance(x, np.ndarray):
        return ("ndarray", x.dtype.str, x.tolist())
    return x


def _rollout(env: gym.Env, seed: int, steps: int = 30) -> list[Any]:
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    trajectory: list[Any] = [_canon((obs, info))]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(_random_action(env, obs, rng))
        trajectory.append(_canon((obs, reward, terminated, truncated, info)))
        if terminated or truncated:
            break
    return trajectory


def _run_oracle(env: gym.Env, seed: int) -> tuple[dict, dict, bool, bool]:
    obs, info = env.reset(seed=seed)
    assert "expert_action" in info
    terminated = truncated = False
    for _ in range(env.spec.max_episode_steps or 1000):
        result = env.step(info["expert_action"])
        obs, _, terminated, truncated, info = result
        assert info["valid_action"], f"expert action refused: {obs['last_action_error']}"
        if terminated or truncated:
            break
    return obs, info, terminated, truncated


def test_some_env_is_registered():
    assert "agentgym/KeyDoor-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registration_follows_the_contract(env_id: str):
    env_spec = gym.spec(env_id)
    assert isinstance(env_spec.entry_point, str) and env_spec.entry_point.startswith("agentgym.")
    assert isinstance(env_spec.max_episode_steps, int) and env_spec.max_episode_steps > 0
    env = _make(env_id)
    doc = inspect.getdoc(type(env.unwrapped)) or ""
    for section in ("Description", "Observation", "Action", "Rewards", "Episode end"):
        assert f"## {section}" in doc, f"{type(env.unwrapped).__name__} docstring lacks {section}"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_passes_without_warnings(env_id: str):
    env = _make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not caught, "check_env warned:\n" + "\n".join(messages)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id: str):
    env, fresh = _make(env_id), _make(env_id)
    first = _rollout(env, seed=3)
    _rollout(env, seed=11)  # an episode in between must not leak into the next one
    assert len(first) > 1
    assert _rollout(env, seed=3) == first
    assert _rollout(fresh, seed=3) == first


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_different_seeds_give_different_tasks(env_id: str):
    env = _make(env_id)
    seeds = range(8)
    resets = [env.reset(seed=s) for s in seeds]
    ids = {info["task"]["id"] for _, info in resets}
    starts = {(obs["goal"], obs["text"]) for obs, _ in resets}
    assert len(ids) >= len(seeds) // 2, f"only {len(ids)} distinct tasks over {len(seeds)} seeds"
    assert len(starts) >= len(seeds) // 2, f"only {len(starts)} distinct first observations"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reward_terms_add_up(env_id: str):
    env = _make(env_id)
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        assert env.observation_space.contains(obs)
        _check_info(info)
        assert all(v == 0.0 for v in info["reward_terms"].values()), info["reward_terms"]
        rng = np.random.default_rng(seed)
        for _ in range(40):
            # Mix random admissible actions with the expert's so that rewards are earned too.
            action = info.get("expert_action") if rng.random() < 0.5 else None
            result = env.step(action or _random_action(env, obs, rng))
            _check_step(env, result)
            obs, _, terminated, truncated, info = result
            if terminated or truncated:
                break


@pytest.mark.parametrize(("env_id", "split"), ENV_SPLITS)
def test_oracle_solves_the_task(env_id: str, split: str):
    env = _make(env_id, split=split)
    if "expert_action" not in env.reset(seed=0)[1]:
        pytest.skip(f"{env_id} has no oracle")
    for seed in ORACLE_SEEDS:
        obs, info, terminated, truncated = _run_oracle(env, seed)
        assert info["won"] is True, f"seed {seed}: oracle did not win ({obs['text']!r})"
        assert terminated is True and truncated is False, f"seed {seed}"
        assert info["task"]["split"] == split


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_random_admissible_actions_never_crash(env_id: str):
    env = _make(env_id)
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(env.spec.max_episode_steps):
            listed = bool(obs["admissible_actions"])
            action = _random_action(env, obs, rng)
            result = env.step(action)
            _check_step(env, result)
            obs, _, terminated, truncated, info = result
            if listed:
                assert info["valid_action"], f"admissible {action!r} refused: {obs}"
            if terminated or truncated:
                break


def _ids(values: list[Any]) -> list[str]:
    return [ascii(v)[:30] for v in values]


@pytest.mark.parametrize("action", ALWAYS_INVALID, ids=_ids(ALWAYS_INVALID))
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_garbage_action_is_an_observation(env_id: str, action: Any):
    env = _make(env_id)
    obs0, _ = env.reset(seed=0)
    result = env.step(action)
    _check_step(env, result)
    obs, reward, terminated, truncated, info = result
    assert info["valid_action"] is False
    assert obs["last_action_error"]
    assert obs["goal"] == obs0["goal"]
    # The env goes on as before.
    rng = np.random.default_rng(0)
    _check_step(env, env.step(_random_action(env, obs, rng)))


@pytest.mark.parametrize("action", ODD_TEXT, ids=_ids(ODD_TEXT))
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_odd_text_never_crashes(env_id: str, action: Any):
    env = _make(env_id)
    env.reset(seed=1)
    for _ in range(3):  # also after an earlier odd action
        _check_step(env, env.step(action))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_after_termination_does_not_raise(env_id: str):
    env = _make(env_id)
    if "expert_action" not in env.reset(seed=0)[1]:
        pytest.skip(f"{env_id} has no oracle to reach the end with")
    _, info, terminated, _ = _run_oracle(env, seed=0)
    assert terminated
    for action in ["look", "", None, "🙂", "x" * 200_000]:
        result = env.step(action)
        _check_step(env, result)
        assert result[2] is True, "a finished episode must stay terminated"
        assert result[1] == 0.0
