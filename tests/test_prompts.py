"""The ReAct prompt format: messages from agent inputs, actions from model output."""

from __future__ import annotations

import pytest

from agentgym.errors import ConfigError
from agentgym.prompts import (
    ReActFormat,
    checkpoint_format,
    load_prompt_settings,
    save_prompt_settings,
)
from agentgym.types import AgentInput, Turn


def _input(**kwargs) -> AgentInput:
    values = dict(
        env_id="agentgym/KeyDoor-v0",
        goal="Find your way to the exit.",
        observation="You are in the hall. Passages lead north to the kitchen.",
        admissible_actions=["go north", "look", "inventory"],
    )
    values.update(kwargs)
    return AgentInput(**values)


def _user(fmt: ReActFormat, inp: AgentInput) -> str:
    messages = fmt.messages(inp)
    assert [m["role"] for m in messages] == ["system", "user"]
    return messages[1]["content"]


# -- messages ---------------------------------------------------------------------------------


def test_messages_show_goal_observation_and_admissible_actions() -> None:
    text = _user(ReActFormat(), _input())
    assert "Goal: Find your way to the exit." in text
    assert "Observation: You are in the hall. Passages lead north to the kitchen." in text
    assert "Admissible actions:\n- go north\n- look\n- inventory" in text
    assert "failed" not in text and "History" not in text
    assert text.index("Goal:") < text.index("Observation:") < text.index("Admissible actions:")


def test_messages_show_the_last_error() -> None:
    inp = _input(last_action_error="There is no way west from here.")
    assert "Your last action failed: There is no way west from here." in _user(ReActFormat(), inp)


def test_open_action_space_lists_no_actions() -> None:
    assert "Admissible actions" not in _user(ReActFormat(), _input(admissible_actions=[]))


def test_long_action_lists_are_cut_with_a_count() -> None:
    inp = _input(admissible_actions=[f"click {i}" for i in range(5)])
    text = _user(ReActFormat(max_admissible=2), inp)
    assert "- click 0\n- click 1\n(+3 more)" in text and "click 2" not in text
    assert "Admissible actions" not in _user(ReActFormat(max_admissible=0), inp)


def _history(n: int) -> list[Turn]:
    return [Turn(observation=f"room {i}", action=f"go {i}") for i in range(n)]


def test_history_is_shown_oldest_first() -> None:
    text = _user(ReActFormat(), _input(history=_history(2)))
    assert "History:\nObservation: room 0\nAction: go 0\nObservation: room 1\nAction: go 1" in text
    assert text.index("History:") < text.index("Observation: You are in the hall")


def test_history_is_truncated_with_a_note() -> None:
    text = _user(ReActFormat(history_turns=2), _input(history=_history(5)))
    assert "History (3 earlier turns omitted):" in text
    assert "room 3" in text and "room 4" in text
    assert "room 2" not in text and "go 0" not in text
    assert "History" not in _user(ReActFormat(history_turns=0), _input(history=_history(5)))


def test_system_prompt_asks_for_the_reply_format() -> None:
    assert "Thought:" in ReActFormat().messages(_input())[0]["content"]
    no_think = ReActFormat(think=False).messages(_input())[0]["content"]
    assert "Action: <action>" in no_think and "Thought" not in no_think
    custom = ReActFormat(system_prompt="Be brief.").messages(_input())[0]["content"]
    assert custom == "Be brief."


# -- chat-style history --------------------------------------------------------------------------


def _episode(n: int) -> list[AgentInput]:
    """The inputs of steps 0..n of one episode (history grows by one turn per step)."""
    turns = [Turn(observation=f"room {i}", action=f"go {i}", output=f"Thought: t{i}\nAction: go {i}")
             for i in range(n)]
    return [_input(observation=f"room {i}", history=turns[:i], admissible_actions=[]) for i in range(n + 1)]


def test_chat_history_is_a_growing_conversation() -> None:
    fmt = ReActFormat(history_style="chat", history_turns=10, max_admissible=0)
    steps = [fmt.messages(inp) for inp in _episode(4)]
    for before, after in zip(steps, steps[1:]):  # each prompt is a prefix of the next one
        assert after[: len(before)] == before and len(after) == len(before) + 2
    last = steps[-1]
    assert [m["role"] for m in last] == ["system"] + ["user", "assistant"] * 4 + ["user"]
    assert last[1]["content"] == "Goal: Find your way to the exit.\n\nObservation: room 0"
    assert last[2]["content"] == "Thought: t0\nAction: go 0"  # the policy's own words
    assert last[-1]["content"] == "Observation: room 4"


def test_chat_history_can_restate_the_goal_every_turn() -> None:
    fmt = ReActFormat(history_style="chat", goal_every_turn=True, max_admissible=0)
    steps = [fmt.messages(inp) for inp in _episode(3)]
    for before, after in zip(steps, steps[1:]):  # still a growing conversation
        assert after[: len(before)] == before
    users = [m["content"] for m in steps[-1] if m["role"] == "user"]
    assert users == [f"Goal: Find your way to the exit.\n\nObservation: room {i}" for i in range(4)]
    assert fmt.settings()["goal_every_turn"] is True


def test_the_goal_can_follow_the_observation(tmp_path) -> None:
    fmt = ReActFormat(history_style="chat", goal_every_turn=True, goal_position="after",
                      max_admissible=0)
    steps = [fmt.messages(inp) for inp in _episode(3)]
    for before, after in zip(steps, steps[1:]):
        assert after[: len(before)] == before
    users = [m["content"] for m in steps[-1] if m["role"] == "user"]
    assert users == [f"Observation: room {i}\n\nGoal: Find your way to the exit." for i in range(4)]
    first_only = ReActFormat(history_style="chat", goal_position="after", max_admissible=0)
    users = [m["content"] for m in first_only.messages(_episode(3)[-1]) if m["role"] == "user"]
    assert users[0].endswith("Goal: Find your way to the exit.") and "Goal" not in users[1]
    inline = ReActFormat(goal_position="after", max_admissible=0).messages(_input())[1]["content"]
    assert inline.index("Observation:") < inline.index("Goal:") < inline.index("What do you do")
    save_prompt_settings(tmp_path, fmt)
    assert checkpoint_format(tmp_path).goal_position == "after"
    with pytest.raises(ConfigError, match="prompt.goal_position"):
        ReActFormat(goal_position="middle")


def test_chat_history_replays_the_action_when_the_output_is_unknown() -> None:
    inp = _input(history=[Turn(observation="room 0", action="go north")])
    assert ReActFormat(history_style="chat").messages(inp)[2]["content"] == (
        "Thought: I will go north.\nAction: go north")
    no_think = ReActFormat(history_style="chat", think=False).messages(inp)
    assert no_think[2]["content"] == "Action: go north"


def test_chat_history_keeps_the_first_turn_and_the_latest_ones() -> None:
    fmt = ReActFormat(history_style="chat", history_turns=3, max_admissible=0)
    messages = fmt.messages(_episode(6)[-1])
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users == ["Goal: Find your way to the exit.\n\nObservation: room 0",
                     "(3 earlier turns omitted)\n\nObservation: room 4",
                     "Observation: room 5", "Observation: room 6"]
    one = ReActFormat(history_style="chat", history_turns=1).messages(_episode(3)[-1])
    assert [m["content"] for m in one if m["role"] == "user"] == [
        "Goal: Find your way to the exit.\n\n(2 earlier turns omitted)\n\nObservation: room 2",
        "Observation: room 3"]
    none = ReActFormat(history_style="chat", history_turns=0).messages(_episode(2)[-1])
    assert len(none) == 2 and "(2 earlier turns omitted)" in none[1]["content"]


def test_chat_history_shows_error_and_actions_on_the_current_step_only() -> None:
    inp = _input(history=[Turn(observation="room 0", action="go west")],
                 last_action_error="There is no way west from here.")
    messages = ReActFormat(history_style="chat").messages(inp)
    assert "Your last action failed" in messages[-1]["content"]
    assert "- go north" in messages[-1]["content"]
    assert "Admissible" not in messages[1]["content"]


def test_prompt_settings_travel_with_a_checkpoint(tmp_path) -> None:
    trained = ReActFormat(think=False, history_turns=30, history_style="chat", max_admissible=0)
    save_prompt_settings(tmp_path, trained)
    assert load_prompt_settings(tmp_path) == trained.settings()
    fmt = checkpoint_format(tmp_path, think=None, history_turns=None)
    assert fmt.settings() == trained.settings()
    assert checkpoint_format(tmp_path, history_turns=4).history_turns == 4  # explicit wins
    assert checkpoint_format(tmp_path / "nothing-saved").settings() == ReActFormat().settings()
    assert load_prompt_settings("some-org/some-hub-model") == {}


def test_unknown_history_style_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="inline, chat") as err:
        ReActFormat(history_style="threaded")
    assert err.value.field == "prompt.history_style"


@pytest.mark.parametrize("field", ["history_turns", "max_admissible"])
def test_format_rejects_negative_counts(field: str) -> None:
    with pytest.raises(ConfigError) as err:
        ReActFormat(**{field: -1})
    assert err.value.field == f"prompt.{field}"


# -- parse ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Thought: the kitchen is north.\nAction: go north", "go north"),
        ("Action: go north", "go north"),
        ("Thought: hmm.\nAction: look\nThought: no, better move.\nAction: go north", "go north"),
        ("thought: lower case works\naction: take red key", "take red key"),
        ("ACTION:go north", "go north"),
        ("Thought: x\nAction:   go north   \n\n", "go north"),
        ('Action: "go north"', "go north"),
        ("Action: 'go north'", "go north"),
        ("Action: `go north`", "go north"),
        ("Action: [go north]", "go north"),
        ("Action: <go north>", "go north"),
        ("Thought: the door is east.\nAction: unlock east door\n", "unlock east door"),
        ("go north", "go north"),
        ("\n\n  go north  \nlook", "go north"),
        ("Thought: I should move.\ngo north", "go north"),
        ("Thought: only thinking", ""),
        ("", ""),
        ("   \n  ", ""),
        ("Action:", ""),
    ],
)
def test_parse(text: str, action: str) -> None:
    assert ReActFormat().parse(text) == action


def test_parse_ignores_text_after_the_action_line() -> None:
    assert ReActFormat().parse("Action: go north\nObservation: you walk north.") == "go north"


def test_parse_reads_action_only_as_a_whole_word() -> None:
    fmt = ReActFormat()
    assert fmt.parse("Thought: check the transaction: 42\nclick buy") == "click buy"
    assert fmt.parse("Action: go north\nThat was my reaction: calm") == "go north"


# -- render_action ----------------------------------------------------------------------------


ACTIONS = ["go north", "take red key", "unlock east door", "look", "click [12]", "type 3 hello"]


@pytest.mark.parametrize("think", [True, False])
@pytest.mark.parametrize("action", ACTIONS)
def test_render_action_round_trips_through_parse(think: bool, action: str) -> None:
    fmt = ReActFormat(think=think)
    rendered = fmt.render_action(action)
    assert fmt.parse(rendered) == action
    assert rendered.startswith("Thought: ") == think
    assert fmt.parse(fmt.render_action(action, thought="My next action: wait.")) == action


def test_render_action_uses_the_given_thought() -> None:
    rendered = ReActFormat().render_action("go north", thought="The exit is north.")
    assert rendered == "Thought: The exit is north.\nAction: go north"
    terse = ReActFormat(think=False)
    assert terse.render_action("go north", thought="ignored") == "Action: go north"


@pytest.mark.parametrize("action", ['search "red shoes"', "say 'hi'"])
def test_render_action_round_trips_actions_with_quoted_arguments(action: str) -> None:
    fmt = ReActFormat()
    assert fmt.parse(fmt.render_action(action)) == action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("**Action:** go north", "go north"),
        ("Thought: hm\n**Action: take red key**", "take red key"),
        ('Action: "go north', '"go north'),  # an unmatched quote is the model's, kept as written
    ],
)
def test_parse_strips_markdown_and_only_matching_wrappers(text: str, action: str) -> None:
    assert ReActFormat().parse(text) == action
