"""Behaviour of the key-and-door maze (``agentgym/KeyDoor-v0``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from agentgym.envs.keydoor import KeyDoorEnv, KeyDoorTask
from agentgym.envs.keydoor.task import DIRECTIONS, SUBGOAL_REWARD, MazeState
from agentgym.errors import ConfigError, UnknownEnvError
from agentgym.registration import make

ENV_ID = "agentgym/KeyDoor-v0"
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


def _start(seed: int = 0, **kwargs) -> tuple[KeyDoorTask, MazeState]:
    task = KeyDoorTask(**kwargs)
    return task, task.setup(np.random.default_rng(seed)).state


def _beyond(room: tuple[int, int], direction: str) -> tuple[int, int]:
    dx, dy = DIRECTIONS[direction]
    return (room[0] + dx, room[1] + dy)


def _door(state: MazeState) -> tuple[str, tuple[int, int], str]:
    """(colour, a room beside the first door, direction from that room through the door)."""
    edge, colour = sorted(state.layout.doors.items(), key=lambda item: sorted(item[0]))[0]
    room = sorted(edge)[0]
    for d in DIRECTIONS:
        if frozenset((room, _beyond(room, d))) == edge:
            return colour, room, d
    raise AssertionError("a door joins two neighbouring rooms")


def _walk_until(env: KeyDoorEnv, info: dict, prefix: str) -> dict:
    """Follow the oracle until its next action starts with ``prefix``."""
    for _ in range(100):
        if info["expert_action"].startswith(prefix):
            return info
        *_, info = env.step(info["expert_action"])
    raise AssertionError(f"the oracle never chose {prefix!r}")


# -- task instances ------------------------------------------------------------------------------


def test_splits_draw_disjoint_tasks():
    ids = {}
    for split in ("train", "valid", "test"):
        env = KeyDoorEnv(split=split)
        infos = [env.reset(seed=seed)[1] for seed in range(200)]
        assert {info["task"]["split"] for info in infos} == {split}
        ids[split] = {info["task"]["id"] for info in infos}
        assert len(ids[split]) == 200, f"{split}: two seeds gave the same task"
    assert not ids["train"] & ids["valid"]
    assert not ids["train"] & ids["test"]
    assert not ids["valid"] & ids["test"]


def test_same_seed_same_maze():
    a, b = KeyDoorEnv(size=4, keys=2), KeyDoorEnv(size=4, keys=2)
    assert a.reset(seed=5) == b.reset(seed=5)
    assert a.state.layout == b.state.layout
    a.reset(seed=6)
    assert a.state.layout != b.state.layout


@pytest.mark.parametrize("size", [2, 3, 5])
def test_no_keys_means_no_doors(size: int):
    env = KeyDoorEnv(size=size, keys=0)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        layout = env.state.layout
        assert layout.doors == {} and layout.keys == {}
        assert info["subgoals"] == ["reach the exit"]
        assert "locked" not in obs["goal"].lower()
        while not info["won"]:
            assert not any(a.startswith(("unlock", "take")) for a in obs["admissible_actions"])
            assert "locked" not in obs["text"] and "key" not in obs["text"]
            obs, reward, _, _, info = env.step(info["expert_action"])
            assert info["reward_terms"]["subgoal"] == 0.0
        assert reward == 1.0


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_maze_has_as_many_doors_and_keys_as_asked(size: int):
    for keys in range(size):
        _, state = _start(seed=size, size=size, keys=keys)
        assert len(state.layout.doors) == keys
        assert sorted(state.layout.keys) == sorted(state.layout.doors.values())


@pytest.mark.parametrize(("size", "keys"), [(2, 2), (3, 3), (5, 5), (3, -1), (1, 0), (6, 1)])
def test_bad_size_or_keys_raise(size: int, keys: int):
    with pytest.raises(ValueError):
        KeyDoorTask(size=size, keys=keys)
    with pytest.raises(ValueError):
        make(ENV_ID, size=size, keys=keys)


def test_unknown_split_raises_config_error():
    with pytest.raises(ConfigError, match="train"):
        KeyDoorTask(split="trian")


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_oracle_solves_every_configuration(size: int):
    for keys in range(size):
        env = KeyDoorEnv(size=size, keys=keys)
        for seed in range(3):
            _, info = env.reset(seed=seed)
            for _ in range(200):
                obs, _, terminated, _, info = env.step(info["expert_action"])
                assert info["valid_action"], obs["last_action_error"]
                if terminated:
                    break
            assert info["won"], f"size={size} keys={keys} seed={seed}"
            assert sorted(info["subgoals_done"]) == sorted(info["subgoals"])


# -- parsing -------------------------------------------------------------------------------------


def test_direction_synonyms_and_case():
    env = KeyDoorEnv()
    obs, _ = env.reset(seed=2)
    direction = next(a for a in obs["admissible_actions"] if a.startswith("go ")).split()[1]
    expected = env.step(f"go {direction}")[0]
    variants = [
        direction, direction[0], direction[0].upper(), f"move {direction}", f"walk {direction}",
        f"GO {direction.upper()}", f"  Go\t {direction.title()}. ",
    ]
    for variant in variants:
        env.reset(seed=2)
        obs, _, _, _, info = env.step(variant)
        assert info["valid_action"], f"{variant!r}: {obs['last_action_error']}"
        assert obs == expected, variant


def test_no_passage_is_refused():
    task, state = _start(seed=0)
    for d in DIRECTIONS:
        if frozenset((state.room, _beyond(state.room, d))) not in state.layout.passages:
            outcome = task.apply(state, f"go {d}")
            assert not outcome.valid and "no way" in outcome.error
            assert outcome.state == state
    assert not task.apply(state, "go up").valid
    assert not task.apply(state, "go north now").valid


@pytest.mark.parametrize(
    "template",
    ["take {c} key", "take the {c} key", "pick up the {c} key", "get {c} key", "grab {c}",
     "Pick Up The {C} Key", "TAKE {C} KEY", "take", "take key", "pick up"],
)
def test_take_synonyms(template: str):
    task, state = _start(seed=1, keys=1)
    (colour, room), = state.layout.keys.items()
    here = replace(state, room=room)
    outcome = task.apply(here, template.format(c=colour, C=colour.upper()))
    assert outcome.valid, outcome.error
    assert outcome.state.held == {colour}
    assert colour in outcome.text


def test_take_refusals():
    task, state = _start(seed=1, keys=1)
    (colour, room), = state.layout.keys.items()
    other = next(r for r in state.layout.names if r != room)
    assert "no key" in task.apply(replace(state, room=other), f"take {colour} key").error
    here = replace(state, room=room)
    wrong = "purple" if colour != "purple" else "orange"
    outcome = task.apply(here, f"take {wrong} key")
    assert not outcome.valid and f"{colour} key" in outcome.error
    held = task.apply(here, f"take {colour} key").state
    assert not task.apply(held, f"take {colour} key").valid  # already taken


@pytest.mark.parametrize(
    "template",
    ["unlock {c} door", "unlock the {c} door", "open {c} door", "open the {c} door",
     "unlock {d} door", "unlock {d0} door", "UNLOCK {C} DOOR", "Unlock The {C} Door.",
     "unlock", "open"],
)
def test_unlock_synonyms(template: str):
    task, state = _start(seed=3, keys=1)
    colour, room, d = _door(state)
    beside = replace(state, room=room, held=frozenset({colour}))
    outcome = task.apply(beside, template.format(c=colour, C=colour.upper(), d=d, d0=d[0]))
    assert outcome.valid, outcome.error
    assert outcome.state.unlocked == {colour}


def test_unlock_refusals():
    task, state = _start(seed=3, keys=1)
    colour, room, d = _door(state)
    without_key = replace(state, room=room)
    outcome = task.apply(without_key, f"unlock {colour} door")
    assert not outcome.valid and f"needs the {colour} key" in outcome.error
    assert outcome.state == without_key
    other = next(r for r in state.layout.names if r not in (room, _beyond(room, d)))
    assert "no locked door" in task.apply(replace(state, room=other), "unlock door").error
    beside = replace(state, room=room, held=frozenset({colour}))
    assert not task.apply(beside, f"unlock {OPPOSITE[d]} door").valid


def test_unknown_words_are_refused_with_a_hint():
    task, state = _start(keys=1)
    colour, room, d = _door(state)
    beside_door = {room, _beyond(room, d)}
    bare = next(r for r in sorted(state.layout.names) if r not in beside_door
                and r != state.layout.keys[colour])
    state = replace(state, room=bare)
    for action in ["dance", "go", "pick", "unlock", "take", "go go go", "north north", "."]:
        outcome = task.apply(state, action)
        assert outcome.valid is False, action
        assert outcome.error and outcome.state == state
    assert "admissible" in task.apply(state, "dance").error
    assert task.apply(state, "look").valid and task.apply(state, "l").valid
    assert task.apply(state, "inventory").text == "You carry nothing."
    assert task.apply(state, "i").valid


def test_locked_door_refuses_passage_until_unlocked():
    env = KeyDoorEnv(size=4, keys=2)
    _, info = env.reset(seed=4)
    info = _walk_until(env, info, "unlock")
    direction = info["expert_action"].split()[1]
    room = env.state.room
    colour = env.state.layout.doors[frozenset((room, _beyond(room, direction)))]
    for action in (f"go {direction}", direction[0]):
        obs, reward, _, _, refused = env.step(action)
        assert refused["valid_action"] is False
        assert colour in obs["last_action_error"] and "locked" in obs["last_action_error"]
        assert reward == 0.0 and env.state.room == room
    *_, info = env.step(info["expert_action"])
    assert info["valid_action"] and colour in env.state.unlocked
    obs, _, _, _, info = env.step(f"go {direction}")
    assert info["valid_action"] and env.state.room != room


# -- rewards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "keys"), [(3, 1), (4, 2), (5, 3)])
def test_rewards_follow_the_milestones(size: int, keys: int):
    env = KeyDoorEnv(size=size, keys=keys)
    for seed in range(5):
        _, info = env.reset(seed=seed)
        rewards, terms = [], []
        while not info["won"]:
            _, reward, _, _, info = env.step(info["expert_action"])
            rewards.append(reward)
            terms.append(info["reward_terms"])
        subgoals = [t["subgoal"] for t in terms if t["subgoal"]]
        assert subgoals == pytest.approx([SUBGOAL_REWARD] * 2 * keys), "0.1 per key and per door"
        assert [t["success"] for t in terms].count(1.0) == 1
        assert terms[-1]["success"] == 1.0
        assert sum(t["success"] for t in terms) == 1.0
        assert sum(rewards) == pytest.approx(1.0 + 2 * keys * SUBGOAL_REWARD)
        assert env.step("look")[1] == 0.0  # nothing more after the end


def test_subgoal_is_paid_once():
    env = KeyDoorEnv(size=4, keys=2)
    _, info = env.reset(seed=4)
    info = _walk_until(env, info, "take")
    colour = info["expert_action"].split()[1]
    _, reward, _, _, info = env.step(info["expert_action"])
    assert reward == pytest.approx(SUBGOAL_REWARD)
    for action in (f"take {colour} key", "inventory", "look", "take"):
        _, reward, _, _, step_info = env.step(action)
        assert reward == 0.0, action
    info = _walk_until(env, step_info, "unlock")
    direction = info["expert_action"].split()[1]
    assert env.step(info["expert_action"])[1] == pytest.approx(SUBGOAL_REWARD)
    _, reward, _, _, again = env.step(info["expert_action"])
    assert reward == 0.0 and again["valid_action"] is False
    # Walking back and forth through the open door earns nothing.
    for action in (f"go {direction}", f"go {OPPOSITE[direction]}") * 2:
        _, reward, terminated, _, _ = env.step(action)
        assert reward == 0.0 or terminated


def test_validate_pays_success_only_on_arrival():
    task, state = _start(seed=0, keys=0)
    at_exit = replace(state, room=state.layout.exit)
    assert task.validate(state, at_exit).reward_terms == {"success": 1.0, "subgoal": 0.0}
    assert task.validate(at_exit, at_exit).reward_terms == {"success": 0.0, "subgoal": 0.0}
    assert task.validate(at_exit, at_exit).won


# -- registration, errors, rendering -------------------------------------------------------------


def test_make_passes_kwargs_and_keeps_the_horizon():
    env = make(ENV_ID, split="test", size=4, keys=2)
    _, info = env.reset(seed=0)
    assert info["task"]["split"] == "test" and info["task"]["id"].startswith("keydoor-4x4-k2-")
    assert env.spec.max_episode_steps == 50
    for _ in range(50):
        _, _, terminated, truncated, _ = env.step("look")
    assert truncated and not terminated


def test_unknown_kwarg_raises_config_error():
    with pytest.raises(ConfigError, match="size") as excinfo:
        make(ENV_ID, sizee=3)
    assert "sizee" in str(excinfo.value) and "Did you mean 'size'" in str(excinfo.value)


def test_unknown_env_id_suggests_the_close_one():
    with pytest.raises(UnknownEnvError) as excinfo:
        make("agentgym/KeyDor-v0")
    assert "agentgym/KeyDoor-v0" in str(excinfo.value)
    assert "agentgym/KeyDor-v0" in str(excinfo.value)


def test_render_ansi_shows_goal_text_and_error():
    env = make(ENV_ID, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str)
    assert obs["goal"] in text and obs["text"] in text
    obs, *_ = env.step("dance")
    assert obs["last_action_error"] in env.render()


def test_render_human_writes_to_stdout(capsys: pytest.CaptureFixture[str]):
    env = make(ENV_ID, render_mode="human")
    obs, _ = env.reset(seed=0)
    capsys.readouterr()
    assert env.render() is None
    assert obs["goal"] in capsys.readouterr().out


def test_unsupported_render_mode_raises():
    with pytest.raises(ConfigError, match="render_mode"):
        KeyDoorEnv(render_mode="rgb_array")


def test_expert_thought_explains_each_oracle_action() -> None:
    env = make("agentgym/KeyDoor-v0", size=4, keys=2)
    _, info = env.reset(seed=3)
    seen = set()
    while "expert_action" in info:
        thought, action = info["expert_thought"], info["expert_action"]
        verb = action.split()[0]
        seen.add(verb)
        if verb == "take":
            assert action.split()[1] in thought and "key lies here" in thought
        elif verb == "unlock":
            assert thought.startswith("I carry the") and action.split()[1] in thought
        else:
            assert thought.startswith(f"I go {action.split()[1]} towards the ")
        _, _, term, trunc, info = env.step(action)
        if term or trunc:
            break
    assert seen == {"take", "unlock", "go"}
