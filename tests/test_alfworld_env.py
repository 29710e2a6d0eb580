"""agentgym/ALFWorld-v0: ALFWorld's own games (here: household tasks in ALFWorld's file layout)."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.errors import AgentGymError, ConfigError

pytest.importorskip("alfworld")
from agentgym.envs.alfworld import export_household_games, find_games  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("alfworld_data")
    export_household_games(root, per_split=2, splits=["valid_unseen"], max_receptacles=6,
                           max_objects=8)
    return root


def test_missing_data_says_where_it_looked_and_how_to_fix(tmp_path) -> None:
    with pytest.raises(AgentGymError, match="ALFWORLD_DATA") as err:
        agentgym.make("agentgym/ALFWorld-v0", data_dir=str(tmp_path))
    assert str(tmp_path) in str(err.value)


def test_bad_split_suggests_the_closest(data_dir) -> None:
    with pytest.raises(ConfigError, match="valid_unseen"):
        agentgym.make("agentgym/ALFWorld-v0", split="valid_unsen", data_dir=str(data_dir))


def test_alfworld_data_variable_is_used_and_games_play(data_dir, monkeypatch) -> None:
    monkeypatch.setenv("ALFWORLD_DATA", str(data_dir))
    games = find_games("valid_unseen")
    assert len(games) == 2 and all(g.name == "game.tw-pddl" for g in games)
    env = agentgym.make("agentgym/ALFWorld-v0", split="valid_unseen")
    obs, info = env.reset(seed=1)
    assert obs["text"].startswith("-= Welcome to TextWorld, ALFRED! =-")
    assert obs["goal"] and obs["goal"] in obs["text"]
    assert info["task"]["type"] and info["task"]["id"].endswith("trial_0")
    obs, _, _, _, info = env.step("jump around")
    assert obs["text"] == "Nothing happens." and not info["valid_action"]
    while "expert_action" in info:
        obs, reward, terminated, truncated, info = env.step(info["expert_action"])
        if terminated or truncated:
            break
    assert terminated and info["won"] and reward == 1.0
    env.close()
