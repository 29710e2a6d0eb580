"""The household world (``agentgym/Household-v0``): ALFWorld's text games, re-implemented.

The conformance suite covers the gymnasium contract; these tests check what is particular to
the household: the oracle, the splits, ALFWorld's sentences and invalid-command behaviour,
snapshots, the observation-only demonstrator, PDDL export/import and, where ALFWorld is
installed, the text against ALFWorld's own engine.
"""

from __future__ import annotations

import collections
import pickle
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest
from agentgym.envs.household import HouseholdEnv, HouseholdTask
from agentgym.envs.household.catalog import (
    SPLIT_COUNTS,
    UNSEEN_FLOORPLANS,
    held_out,
    split_size,
    task_def,
)
from agentgym.envs.household.demonstrator import HouseholdDemonstrator, parse_goal_sentence
from agentgym.envs.household.goals import TASK_TYPES, TEMPLATES
from agentgym.envs.household.pddl import export_problem, parse_problem
from agentgym.envs.household.task import build_engine

import agentgym
from agentgym.env import restore_env
from agentgym.rollout import RolloutConfig, RolloutEngine

ENV_ID = "agentgym/Household-v0"
SAMPLES = Path(__file__).resolve().parents[1] / "envs" / "household" / "data" / "alfworld_samples"


def _play_oracle(task: HouseholdTask, state, limit: int = 60):
    steps = 0
    while not state.won and steps < limit:
        action = task.oracle(state)
        assert action is not None, "the oracle gave up"
        outcome = task.apply(state, action)
        assert outcome.valid, f"oracle action {action!r} refused: {outcome.error}"
        state, steps = outcome.state, steps + 1
    return state, steps


# -- the oracle ---------------------------------------------------------------------------------


def test_oracle_wins_500_tasks_of_every_type():
    env = agentgym.make(ENV_ID)
    types = collections.Counter()
    for seed in range(0, 3553, 7)[:500]:
        obs, info = env.reset(seed=seed)
        types[info["task"]["type"]] += 1
        while True:
            obs, reward, terminated, truncated, info = env.step(info["expert_action"])
            assert info["valid_action"], obs["last_action_error"]
            if terminated or truncated:
                break
        assert info["won"] and terminated and not truncated, (seed, obs["goal"])
    assert set(types) == set(TASK_TYPES) and sum(types.values()) == 500


def test_every_task_of_every_split_is_solvable():
    task = HouseholdTask()
    for split in SPLIT_COUNTS:
        for index in range(split_size(split)):
            state, steps = _play_oracle(task, build_engine(task_def(split, index))[1])
            assert state.won and steps <= 15, (split, index)


def test_oracle_replans_after_random_detours():
    task, rng = HouseholdTask(), random.Random(0)
    for index in range(0, 3553, 11):
        engine, state = build_engine(task_def("train", index))
        for _ in range(rng.randint(1, 40)):
            if state.won:
                break
            state = task.apply(state, rng.choice(engine.admissible(state))).state
        assert _play_oracle(task, state)[0].won, index


def test_following_the_oracle_plans_once_per_episode(monkeypatch):
    from agentgym.envs.household import planner
    from agentgym.envs.household import task as task_module

    calls = []
    real = planner.plan
    monkeypatch.setattr(task_module, "plan", lambda *a: calls.append(1) or real(*a))
    env = agentgym.make(ENV_ID)
    _, info = env.reset(seed=1234)
    while "expert_action" in info:
        *_, info = env.step(info["expert_action"])
    assert info["won"] and len(calls) == 1


# -- splits ------------------------------------------------------------------------------------


def test_split_sizes_match_alfworld():
    sizes = {split: len(HouseholdTask(split=split)) for split in SPLIT_COUNTS}
    assert sizes == {"train": 3553, "valid_seen": 140, "valid_unseen": 134}
    for split, counts in SPLIT_COUNTS.items():
        kinds = collections.Counter(
            task_def(split, i).goal.task_type for i in range(split_size(split))
        )
        assert kinds == collections.Counter(counts)


def test_unseen_split_holds_out_floor_plans_and_pairs():
    def pairs(split):
        defs = [task_def(split, i) for i in range(split_size(split))]
        plans = {d.floorplan for d in defs}
        return plans, {(d.goal.obj, d.goal.recep or d.goal.toggle) for d in defs}

    train_plans, train_pairs = pairs("train")
    seen_plans, seen_pairs = pairs("valid_seen")
    unseen_plans, unseen_pairs = pairs("valid_unseen")
    assert unseen_plans <= UNSEEN_FLOORPLANS and not train_plans & UNSEEN_FLOORPLANS
    assert seen_plans <= train_plans | seen_plans and not seen_plans & UNSEEN_FLOORPLANS
    assert all(held_out(*p) for p in unseen_pairs) and not any(held_out(*p) for p in train_pairs)
    assert not unseen_pairs & (train_pairs | seen_pairs)
    assert len(train_pairs) > 300 and len(unseen_pairs) > 50


def test_task_ids_are_distinct_and_stable():
    env = agentgym.make(ENV_ID, split="valid_seen")
    ids = [env.reset(seed=s)[1]["task"]["id"] for s in range(140)]
    assert len(set(ids)) == 140 and ids[7] == "household-valid_seen-0007"
    assert env.reset(seed=140 + 7)[1]["task"]["id"] == ids[7]  # seeds wrap around the split
    obs, info = env.reset(options={"task_index": 7})
    assert info["task"]["id"] == ids[7]
    # Pinned: the same index gives the same task in every process and version of v0.
    assert task_def("train", 0).goal.text == "put some bread on microwave"
    assert task_def("valid_unseen", 0).goal.text == "put some pan on stoveburner"
    assert [task_def("valid_seen", i).floorplan for i in range(3)] == [10, 324, 11]


def test_task_types_and_difficulty_knobs():
    env = HouseholdEnv(task_types=["look_at_obj_in_light"], max_receptacles=6, max_objects=8,
                       open_fraction=1.0, shared_locations=False)
    assert len(env.task) == 308
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        scene = env.state.engine.scene
        assert info["task"]["type"] == "look_at_obj_in_light"
        assert info["task"]["id"].endswith("-6-8-1.0-False")
        assert len(scene.receptacle_names) <= 6 and len(scene.object_names) <= 8
        assert scene.n_locations == len(scene.receptacle_names)
        assert all(env.state.is_open(r) for r, o in enumerate(scene.openable) if o)
        assert "is closed" not in obs["text"]


# -- text and commands ------------------------------------------------------------------------

NAME = r"[a-z]+ \d+"  # a receptacle's or an object's name
EXAMINE_R = (rf"(?:The {NAME} is open\. In it, you see .+\.|The {NAME} is closed\."
             rf"|On the {NAME}, you see .+\.)")


def _pattern(rhs: str) -> str:
    """A grammar rule's text as a regex: ``{x.name}`` is any name, the receptacle rule expanded."""
    out = re.sub(r"\\\{\w+\\\.name\\\}", lambda _: NAME, re.escape(rhs))
    return out.replace(re.escape("#examineReceptacle.feedback#"), EXAMINE_R)


# The feedback rules of alfred.twl2, per command (several where the grammar has variants).
GRAMMAR = {
    "go": ["You arrive at {r.name}. #examineReceptacle.feedback#"],
    "open": ["You open the {r.name}. #examineReceptacle.feedback#"],
    "close": ["You close the {r.name}."],
    "take": ["You pick up the {o.name} from the {r.name}."],
    "move": ["You move the {o.name} to the {r.name}."],
    "heat": ["You heat the {o.name} using the {r.name}."],
    "cool": ["You cool the {o.name} using the {r.name}."],
    "clean": ["You clean the {o.name} using the {r.name}."],
    "slice": ["You sliced the {co.name} with the {ko.name}."],
    "use": ["You turn on the {o.name}."],
    "inventory": ["You are not carrying anything."],
    "look": ["You are in the middle of a room. Looking quickly around you, you see "],
    "help": ["  go to (receptacle):               move to a receptacle"],
    "examine": ["There's nothing special about {o.name}.", "This is a hot and clean {o.name}."],
}
# Rules whose lists and sub-rules a regex spells out by hand.
PATTERNS = {
    "inventory": rf"You are carrying: a {NAME}\.|You are not carrying anything\.",
    "look": (rf"You are facing the {NAME}(?:, {NAME})*(?:,? and {NAME})?\. "
             r"Next to it, you see nothing\."
             r"|You are in the middle of a room\. Looking quickly around you, you see nothing\."),
    "help": r"Available commands:\n  look: .*\n",
    "examine": rf"{EXAMINE_R}|This is a .+\.|There's nothing special about {NAME}\.",
}


def _transcript(seeds=range(40)):
    """(command, feedback) of oracle and random play over many tasks, every command kind."""
    task, rng, out = HouseholdTask(), random.Random(1), []
    for seed in seeds:
        engine, state = build_engine(task_def("train", seed * 89 % 3553))
        for _ in range(30):
            admissible = engine.admissible(state)
            knifework = [a for a in admissible
                         if a.startswith(("slice", "take knife", "take butterknife"))]
            action = (task.oracle(state) if rng.random() < 0.4
                      else rng.choice(knifework or admissible))
            if action is None:
                break
            outcome = task.apply(state, action)
            out.append((action, outcome.text))
            state = outcome.state
    return out


def test_feedback_follows_the_grammar_for_every_command():
    seen = set()
    for action, text in _transcript():
        verb = action.split()[0]
        pattern = PATTERNS.get(verb) or "|".join(_pattern(rhs) for rhs in GRAMMAR[verb])
        assert re.fullmatch(pattern, text, flags=re.DOTALL), (action, text)
        seen.add(verb)
    assert seen == set(GRAMMAR)


def test_grammar_sentences_are_alfworlds():
    pytest.importorskip("alfworld")
    import alfworld

    grammar = (Path(alfworld.__file__).parent / "data" / "alfred.twl2").read_text()
    for rules in GRAMMAR.values():
        assert all(rhs in grammar for rhs in rules), rules
    for templates in TEMPLATES.values():
        assert all(t in (Path(alfworld.__file__).parent / "gen" / "goal_library.py").read_text()
                   for t in templates)


def test_intro_lists_receptacles_in_alfworld_order():
    env = agentgym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    assert obs["text"].startswith(
        "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
        "around you, you see a cabinet 13, a cabinet 12,"
    )
    assert obs["text"].endswith("\n\nYour task is to: put some bread on microwave.")
    assert obs["goal"] == "put some bread on microwave."
    assert list(obs["admissible_actions"]) == sorted(obs["admissible_actions"])


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("go to countertop 99", "no receptacle called"),
        ("Go to fridge 1", "lower case"),
        ("go to fridge 1.", "final punctuation"),
        ("take potato 1 from sinkbasin 1", "not at the sinkbasin 1"),
        ("take potato 1 from fridge 1", "not in/on the fridge 1"),
        ("examine potato 1", "only the object you are carrying"),
        ("put potato 1 in/on countertop 1", "move (object) to (receptacle)"),
        ("open countertop 1", "cannot be opened"),
        ("close fridge 1", "already closed"),
        ("move potato 1 to countertop 1", "not carrying"),
        ("use potato 1", "switch"),
        ("dance", "Unknown command"),
    ],
)
def test_invalid_commands_do_nothing_and_say_why(action: str, reason: str):
    env = agentgym.make(ENV_ID, split="valid_seen")
    obs, _ = env.reset(seed=0)  # a kitchen; potato 1 lies in the sink basin
    before = env.unwrapped.state
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs["text"] == "Nothing happens."
    assert info["valid_action"] is False and reward == 0.0 and not terminated
    assert reason in obs["last_action_error"], obs["last_action_error"]
    assert env.unwrapped.state is before


def test_invalid_in_context():
    task = HouseholdTask()
    engine, state = build_engine(task_def("train", 0))  # bread 3 on garbagecan 1, microwave closed
    errors = {}
    for action in ["go to garbagecan 1", "go to garbagecan 1", "take bread 3 from garbagecan 1",
                   "take apple 1 from garbagecan 1", "go to microwave 1",
                   "move bread 3 to microwave 1",
                   "heat bread 3 with microwave 1", "cool bread 3 with microwave 1"]:
        outcome = task.apply(state, action)
        errors[action] = outcome.error
        state = outcome.state
    assert errors["go to garbagecan 1"] == "You are already at the garbagecan 1."
    assert "hands are full" in errors["take apple 1 from garbagecan 1"]
    assert "is closed" in errors["move bread 3 to microwave 1"]
    assert errors["heat bread 3 with microwave 1"] == ""  # heating works with the door closed
    assert "cool things with a fridge" in errors["cool bread 3 with microwave 1"]


# -- snapshots, rewards -----------------------------------------------------------------------


@pytest.mark.parametrize("fresh_env", [False, True])
def test_snapshot_restore_replays_identically(fresh_env: bool):
    env = agentgym.make(ENV_ID, split="valid_unseen")
    obs, info = env.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(6):
        actions = obs["admissible_actions"]
        obs, *_, info = env.step(actions[rng.integers(len(actions))])
    snap = env.unwrapped.snapshot()
    actions = [info["expert_action"] if i % 2 else "look" for i in range(3)]
    actions += [obs["admissible_actions"][0], "go to fridge 1", "help"]

    def play():
        out, info_now = [], None
        for a in actions:
            step = env_now.step(a if a != "expert" else info_now["expert_action"])
            out.append(step)
            info_now = step[4]
        return out

    env_now = env
    first = play()
    env_now = agentgym.make(ENV_ID, split="valid_unseen") if fresh_env else env
    restore_env(env_now, snap)
    assert play() == first
    copy = pickle.loads(pickle.dumps(snap))  # snapshots travel to subprocess workers
    assert copy.state == snap.state
    env_now = agentgym.make(ENV_ID, split="valid_unseen")
    restore_env(env_now, copy)
    assert play() == first


def test_subgoal_rewards_are_paid_once_and_add_up():
    env = agentgym.make(ENV_ID, subgoal_rewards=True)
    for seed in (5, 900, 1500, 2000, 2600, 3100):
        obs, info = env.reset(seed=seed)
        total, names = 0.0, info["subgoals"]
        while "expert_action" in info:
            obs, reward, terminated, truncated, info = env.step(info["expert_action"])
            assert reward == pytest.approx(sum(info["reward_terms"].values()))
            total += reward
            if terminated:
                break
        assert info["subgoals_done"] == names
        assert total == pytest.approx(1.0 + 0.1 * (len(names) - 1))


# -- the demonstrator -------------------------------------------------------------------------


def test_demonstrator_reads_goals():
    assert parse_goal_sentence("put a clean apple in fridge.") == (
        "pick_clean_then_place_in_recep", "apple", "fridge", "")
    assert parse_goal_sentence("examine the cd with the desklamp") == (
        "look_at_obj_in_light", "cd", "", "desklamp")
    assert parse_goal_sentence("fly to the moon") is None


@pytest.mark.parametrize("split", ["valid_seen", "valid_unseen"])
def test_demonstrator_solves_most_eval_tasks(split: str):
    with RolloutEngine(ENV_ID, env_kwargs={"split": split},
                       config=RolloutConfig(num_envs=16, progress=False)) as engine:
        trajectories = engine.run(HouseholdDemonstrator(), seeds=range(split_size(split)))
    rate = sum(t.success for t in trajectories) / len(trajectories)
    steps = sum(len(t) for t in trajectories) / len(trajectories)
    print(f"\ndemonstrator on {split}: success {rate:.1%}, {steps:.1f} steps per episode")
    assert rate >= 0.9
    assert sum(t.invalid_actions for t in trajectories) == 0


def test_demonstrator_ignores_the_expert():
    env = agentgym.make(ENV_ID)
    obs, info = env.reset(seed=42)
    from agentgym.types import AgentInput

    inp = AgentInput(env_id=ENV_ID, goal=obs["goal"], observation=obs["text"],
                     admissible_actions=list(obs["admissible_actions"]))
    blind = HouseholdDemonstrator().act([inp])[0].action
    inp.expert_action = "go to nowhere"
    assert HouseholdDemonstrator().act([inp])[0].action == blind


# -- PDDL ---------------------------------------------------------------------------------------


def test_pddl_export_import_round_trip(tmp_path: Path):
    task = HouseholdTask()
    for index in (0, 900, 1300, 1800, 2300, 3000):
        engine, state = build_engine(task_def("train", index))
        path = tmp_path / f"task{index}.pddl"
        path.write_text(export_problem(state))
        env = agentgym.make(ENV_ID, pddl_problem=str(path))
        obs, info = env.reset(seed=0)
        assert obs["text"] == engine.intro(state) and info["task"]["type"] == engine.goal.task_type
        rng = random.Random(index)
        for _ in range(25):
            action = rng.choice(engine.admissible(state))
            mine = task.apply(state, action)
            obs, _, terminated, _, info = env.step(action)
            assert obs["text"] == mine.text
            assert list(obs["admissible_actions"]) == engine.admissible(mine.state) or terminated
            state = mine.state
            if terminated:
                break


@pytest.mark.parametrize("sample", sorted(p.stem for p in SAMPLES.glob("*.pddl")))
def test_alfworld_samples_play_with_their_expert_plans(sample: str):
    text = (SAMPLES / f"{sample}.pddl").read_text()
    expert = re.search(r"; expert: (.*)", text).group(1).split(" | ")
    env = agentgym.make(ENV_ID, pddl_problem=str(SAMPLES / f"{sample}.pddl"))
    obs, info = env.reset()
    assert info["task"]["type"] == sample
    for action in expert:
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["valid_action"], (action, obs["last_action_error"])
    assert terminated and info["won"]
    # The oracle solves it too.
    obs, info = env.reset()
    while "expert_action" in info:
        *_, info = env.step(info["expert_action"])
    assert info["won"]


def test_pddl_problem_errors_are_clear(tmp_path: Path):
    from agentgym.errors import ConfigError

    with pytest.raises((FileNotFoundError, ConfigError), match="No PDDL problem"):
        agentgym.make(ENV_ID, pddl_problem=str(tmp_path / "missing.pddl"))
    (tmp_path / "bad.pddl").write_text("(define (problem p) (:domain alfred) (:init)")
    with pytest.raises(ValueError, match="parenthes"):
        parse_problem((tmp_path / "bad.pddl").read_text())


# -- speed (measured, not asserted) -------------------------------------------------------------


def test_speed_is_measured():
    env = agentgym.make(ENV_ID)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    steps, resets, seed, start = 0, 0, 0, time.perf_counter()
    while steps < 20_000:
        actions = obs["admissible_actions"]
        obs, _, terminated, truncated, _ = env.step(actions[int(rng.integers(len(actions)))])
        steps += 1
        if terminated or truncated:
            seed, resets = seed + 1, resets + 1
            obs, _ = env.reset(seed=seed)
    elapsed = time.perf_counter() - start
    print(f"\nHousehold-v0: {steps / elapsed:,.0f} env steps/s with random admissible actions "
          f"({resets} resets included)")
    assert resets > 0
