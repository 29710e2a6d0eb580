"""Snapshots: branch an episode from any step and replay it exactly."""

from __future__ import annotations

import numpy as np
import pytest

import agentgym
from agentgym.env import restore_env


def _play(env, actions):
    out = []
    for a in actions:
        obs, reward, term, trunc, info = env.step(a)
        out.append((obs, reward, term, trunc, info))
        if term or trunc:
            break
    return out


def _random_actions(env, n, seed):
    rng = np.random.default_rng(seed)
    return [f"go {d}" for d in rng.choice(["north", "south", "east", "west"], size=n)]


@pytest.mark.parametrize("fresh_env", [False, True])
def test_restore_replays_the_same_branch(fresh_env: bool) -> None:
    env = agentgym.make("agentgym/KeyDoor-v0", size=4, keys=2)
    env.reset(seed=5)
    _play(env, _random_actions(env, 5, 0))
    snap = env.unwrapped.snapshot()
    actions = _random_actions(env, 60, 1)
    first = _play(env, actions)
    target = agentgym.make("agentgym/KeyDoor-v0", size=4, keys=2) if fresh_env else env
    restore_env(target, snap)
    second = _play(target, actions)
    assert first == second
    # TimeLimit counts from the snapshot's step: both branches end at the same total length.
    assert first[-1][3] == second[-1][3]


def test_restored_observation_and_state_match_the_snapshot() -> None:
    env = agentgym.make("agentgym/KeyDoor-v0")
    obs, info = env.reset(seed=2)
    snap = env.unwrapped.snapshot()
    env.step(info["expert_action"])
    back_obs, back_info = restore_env(env, snap)
    assert back_obs == obs
    assert back_info["expert_action"] == info["expert_action"]
    assert env.unwrapped.state == snap.state


def test_snapshot_before_reset_raises() -> None:
    import gymnasium as gym

    with pytest.raises(gym.error.ResetNeeded):
        agentgym.make("agentgym/KeyDoor-v0").unwrapped.snapshot()
