"""ALFWorld's own engine (TextWorld PDDL env + ALFWorld wrappers) on our hand-written problems.

These tests pin the reference behaviour that ``docs/alfred_pddl.md`` documents and that our
household world must reproduce: the six sample problems load, their expert plans win, invalid
commands give ``Nothing happens.``, and a few transcripts match word for word.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentgym.envs.household import alfworld_engine as ae
from agentgym.envs.household.alfworld_engine import (
    TASK_TYPES,
    AlfworldEngine,
    TaskGoal,
    alfworld_available,
    goal_pddl,
    load_samples,
    mangle,
    parse_goal,
    task_description,
)

# ALFWorld's engine is slow to load problems (~0.5 s each): the module takes about 10 s.
pytestmark = pytest.mark.slow

SAMPLES = {s.name: s for s in load_samples()}
needs_alfworld = pytest.mark.skipif(
    not alfworld_available(),
    reason="ALFWorld's engine is not installed (pip install agentgym[alfworld])",
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """One engine for the module (loading the library costs ~0.5 s); tests load() their problem."""
    if not alfworld_available():
        pytest.skip("ALFWorld's engine is not installed (pip install agentgym[alfworld])")
    with pytest.MonkeyPatch.context() as mp:
        # `import alfworld` creates $ALFWORLD_DATA (default ~/.cache/alfworld): keep it in tmp.
        mp.setenv("ALFWORLD_DATA", str(tmp_path_factory.mktemp("alfworld_data")))
        sample = SAMPLES["pick_and_place_simple"]
        with AlfworldEngine(
            sample.problem, task=sample.task, scratch_dir=tmp_path_factory.mktemp("alfworld_engine")
        ) as eng:
            yield eng


def _start(engine: AlfworldEngine, name: str) -> tuple[str, list[str], dict]:
    sample = SAMPLES[name]
    engine.load(sample.problem, task=sample.task)
    return engine.reset()


# ----------------------------------------------------------------------------- without the engine


def test_samples_cover_the_six_task_types():
    assert sorted(SAMPLES) == sorted(TASK_TYPES)
    for name, sample in SAMPLES.items():
        assert sample.task_type == name
        assert parse_goal(sample.problem).task_type == name
        assert len(sample.expert) >= 4
        assert len(sample.problem) < 12_000  # small data files


def test_mangle_spells_ids_like_alfred():
    assert mangle("Apple|-00.47|+01.15|+00.48") == (
        "Apple_bar__minus_00_dot_47_bar__plus_01_dot_15_bar__plus_00_dot_48"
    )
    assert mangle("Sink|+01.10|+00.91|-01.60|SinkBasin").endswith("_bar_SinkBasin")


def test_parse_goal_reads_the_sample_goals():
    assert parse_goal(SAMPLES["look_at_obj_in_light"].problem) == TaskGoal(
        "look_at_obj_in_light", obj="AlarmClock", toggle="DeskLamp"
    )
    assert parse_goal(SAMPLES["pick_two_obj_and_place"].problem) == TaskGoal(
        "pick_two_obj_and_place", obj="CellPhone", recep="Sofa"
    )
    with pytest.raises(ValueError, match="no \\(:goal"):
        parse_goal("(define (problem p) (:domain alfred))")


def test_unknown_task_type_suggests_the_closest():
    with pytest.raises(KeyError, match="pick_and_place_simple"):
        goal_pddl(TaskGoal("pick_and_place_simpel", obj="Apple", recep="Fridge"))


def test_missing_alfworld_says_how_to_install(monkeypatch):
    monkeypatch.setattr(ae, "_missing_modules", lambda: ["alfworld", "textworld"])
    assert not alfworld_available()
    with pytest.raises(ImportError, match=r"pip install 'agentgym\[alfworld\]'"):
        AlfworldEngine("(define (problem p))", task="x")


# ----------------------------------------------------------------------------- with the engine


@needs_alfworld
def test_goal_templates_round_trip():
    for task_type in TASK_TYPES:
        light = task_type == "look_at_obj_in_light"
        goal = TaskGoal(
            task_type,
            obj="Apple",
            recep="" if light else "Fridge",
            toggle="DeskLamp" if light else "",
        )
        text = goal_pddl(goal)
        assert text.count("(") == text.count(")") and "#" not in text
        assert parse_goal(text) == goal
    goal = TaskGoal("pick_clean_then_place_in_recep", obj="Apple", recep="Fridge")
    assert task_description(goal) == "put a clean apple in fridge"
    assert task_description(goal, template=1) == "clean some apple and put it in fridge"
    for sample in SAMPLES.values():
        assert task_description(parse_goal(sample.problem)) == sample.task


@pytest.mark.parametrize("name", TASK_TYPES)
def test_expert_solves_each_sample(engine, name):
    sample = SAMPLES[name]
    obs, admissible, info = _start(engine, name)
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-\n\n")
    assert obs.endswith(f"\n\nYour task is to: {sample.task}.")
    assert {"look", "inventory", "help"} <= set(admissible)
    assert admissible == sorted(admissible) and not info["won"]
    won = False
    for i, command in enumerate(sample.expert):
        assert command in admissible, f"step {i}: {command!r} not in {admissible}"
        assert not won, f"won before the last expert step ({i})"
        obs, admissible, won, info = engine.step(command)
        assert info["valid"] and obs != ae.NOTHING_HAPPENS and admissible
    assert won and info["won"] and info["score"] == 1


def test_invalid_command_changes_nothing(engine):
    _, admissible, _ = _start(engine, "pick_heat_then_place_in_recep")
    before = engine.facts()
    for command in ("fly to the moon", "take egg 1 from fridge 1", "Go to fridge 1", ""):
        obs, after, won, info = engine.step(command)
        assert obs == "Nothing happens."
        assert not info["valid"] and not won and info["moves"] == 0
        assert after == admissible
    assert engine.facts() == before


def test_transcript_matches_alfworld_text(engine):
    """The exact text the doc quotes: numbering, list order, articles, open/closed receptacles."""
    obs, admissible, _ = _start(engine, "pick_two_obj_and_place")
    assert obs == (
        "-= Welcome to TextWorld, ALFRED! =-\n\n"
        "You are in the middle of a room. Looking quickly around you, you see a armchair 1, "
        "a coffeetable 1, a drawer 2, a drawer 1, a garbagecan 1, a sofa 1, and a tvstand 1.\n\n"
        "Your task is to: put two cellphone in sofa."
    )
    assert admissible == [
        "go to armchair 1",
        "go to coffeetable 1",
        "go to drawer 1",
        "go to drawer 2",
        "go to garbagecan 1",
        "go to sofa 1",
        "go to tvstand 1",
        "help",
        "inventory",
        "look",
    ]
    expected = [
        ("go to drawer 2", "You arrive at drawer 2. The drawer 2 is closed."),
        ("look", "You are facing the drawer 2, and drawer 1. Next to it, you see nothing."),
        (
            "open drawer 1",
            "You open the drawer 1. The drawer 1 is open. In it, you see a cellphone 1.",
        ),
        ("take cellphone 1 from drawer 1", "You pick up the cellphone 1 from the drawer 1."),
        ("inventory", "You are carrying: a cellphone 1."),
        ("examine cellphone 1", "There's nothing special about cellphone 1."),
        ("close drawer 1", "You close the drawer 1."),
        (
            "go to coffeetable 1",
            "You arrive at coffeetable 1. On the coffeetable 1, you see a cellphone 2, "
            "and a creditcard 1.",
        ),
        ("go to sofa 1", "You arrive at sofa 1. On the sofa 1, you see a pillow 1."),
        ("move cellphone 1 to sofa 1", "You move the cellphone 1 to the sofa 1."),
        ("examine sofa 1", "On the sofa 1, you see a cellphone 1, and a pillow 1."),
    ]
    for command, text in expected:
        obs, admissible, won, _ = engine.step(command)
        assert obs == text, command
    assert "take cellphone 1 from sofa 1" in admissible and not won


def test_state_changes_read_like_alfworld(engine):
    _start(engine, "pick_clean_then_place_in_recep")
    steps = [
        (
            "go to countertop 1",
            "You arrive at countertop 1. On the countertop 1, you see a fork 1, and a mug 1.",
        ),
        ("take mug 1 from countertop 1", "You pick up the mug 1 from the countertop 1."),
        ("go to sinkbasin 1", "You arrive at sinkbasin 1. On the sinkbasin 1, you see nothing."),
        ("clean mug 1 with sinkbasin 1", "You clean the mug 1 using the sinkbasin 1."),
        # A mug is a receptacle object: examine reports its contents, not that it is clean.
        ("examine mug 1", "This is a normal mug 1. In it, you see nothing."),
        ("go to microwave 1", "You arrive at microwave 1. The microwave 1 is closed."),
        ("heat mug 1 with microwave 1", "You heat the mug 1 using the microwave 1."),
        ("go to fridge 1", "You arrive at fridge 1. The fridge 1 is closed."),
        ("cool mug 1 with fridge 1", "You cool the mug 1 using the fridge 1."),
    ]
    for command, text in steps:
        obs, _, _, _ = engine.step(command)
        assert obs == text, command
    facts = engine.facts()
    assert "isclean(mug 1)" in facts and "iscool(mug 1)" in facts and "ishot(mug 1)" not in facts

    _start(engine, "look_at_obj_in_light")
    engine.step("go to shelf 1")
    engine.step("take alarmclock 1 from shelf 1")
    assert engine.step("examine alarmclock 1")[0] == "There's nothing special about alarmclock 1."
    engine.step("go to sidetable 1")
    # ToggleObject always sets isToggled, so a second use still "turns on" the lamp.
    assert engine.step("use desklamp 1")[0] == "You turn on the desklamp 1."
    assert engine.step("use desklamp 1")[0] == "You turn on the desklamp 1."


def test_names_follow_alfworld_demangler(engine):
    _start(engine, "pick_and_place_simple")
    names = engine.names()
    # Sorted ids are numbered from the highest: the first cabinet in sorted order is cabinet 2.
    assert names[mangle("Cabinet|-00.62|+00.32|+00.82").lower()] == "cabinet 2"
    assert names[mangle("Cabinet|-00.62|+00.32|+01.40").lower()] == "cabinet 1"
    assert names[mangle("Sink|-00.70|+00.80|+01.15|SinkBasin").lower()] == "sinkbasin 1"
    assert names["agent1"] == "agent1"


def test_default_task_comes_from_the_goal_and_game_file(tmp_path):
    if not alfworld_available():
        pytest.skip("ALFWorld's engine is not installed (pip install agentgym[alfworld])")
    sample = SAMPLES["pick_cool_then_place_in_recep"]
    argv = list(sys.argv)
    engine = AlfworldEngine(sample.problem)  # own scratch dir
    try:
        assert sys.argv == argv  # fast_downward's translator overwrites sys.argv; we restore it
        data = json.loads(engine.game_file.read_text())
        assert set(data) == {"pddl_domain", "grammar", "pddl_problem", "solvable", "walkthrough"}
        assert "UNKNOWN GOAL" not in data["grammar"]
        obs, _, info = engine.reset()
        assert obs.endswith("Your task is to: put a cool tomato in microwave.")
        assert info["gamefile"] == str(engine.game_file)
        assert engine.planner_plan()[-1] == "move tomato 1 to microwave 1"
        saved = tmp_path / "game.tw-pddl"
        saved.write_text(engine.game_file.read_text())
    finally:
        scratch = Path(engine.scratch_dir)
        engine.close()
    assert not scratch.exists()
    with pytest.raises(RuntimeError, match="closed"):
        engine.reset()
    with AlfworldEngine.from_game_file(saved) as again:
        assert again.reset()[0] == obs


def test_bad_problem_is_a_clear_error(engine):
    with pytest.raises(ValueError, match="could not load the PDDL problem"):
        engine.load(
            "(define (problem broken) (:domain alfred) (:init (atLocation agent1 nowhere))",
            task="do nothing",
        )
    cool = SAMPLES["pick_cool_then_place_in_recep"].problem
    unreachable = cool.replace("(coolable Tomato_bar_", "(cleanable Tomato_bar_")
    assert unreachable != cool
    with pytest.raises(ValueError, match="the goal can never hold"):
        engine.load(unreachable, task="put a cool tomato in microwave")
    sample = SAMPLES["pick_and_place_simple"]
    engine.load(sample.problem, task=sample.task)  # still usable afterwards
    assert engine.reset()[1]
