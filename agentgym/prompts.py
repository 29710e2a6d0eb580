"""Prompt formats: agent input → chat messages, and raw model output → env action.

The default is ReAct: the model answers ``Thought: <reasoning>`` then ``Action: <action>``; the
action is what follows the last ``Action:``. With ``think=False`` the model is asked for the
``Action:`` line only (shorter generations for small models).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError
from agentgym.types import AgentInput

__all__ = [
    "GOAL_POSITIONS", "HISTORY_STYLES", "PROMPT_FILE", "Message", "ReActFormat",
    "ReActFormatConfig", "checkpoint_format", "load_prompt_settings", "save_prompt_settings",
]

Message = dict[str, str]

_ACTION = re.compile(r"\baction\s*:\s*(.*)", re.IGNORECASE)
_THOUGHT_PREFIX = re.compile(r"^\s*thought\s*:", re.IGNORECASE)

#: ``inline``: past turns inside one user message; ``chat``: one message per observation/output.
HISTORY_STYLES = ("inline", "chat")
#: Where a user message states the goal: ``before`` or ``after`` the observation.
GOAL_POSITIONS = ("before", "after")
#: File in a checkpoint folder holding the prompt settings the model was trained with.
PROMPT_FILE = "agentgym_prompt.json"


@dataclass(kw_only=True)
class ReActFormatConfig:
    """Config of :class:`ReActFormat`."""

    think: bool = True
    """Ask for a ``Thought:`` line before the ``Action:`` line."""
    history_turns: int = 8
    """How many past (observation, action) turns to show; older ones are dropped."""
    max_admissible: int = 50
    """Most admissible actions to list in the prompt."""
    system_prompt: str = ""
    """Replaces the built-in system prompt when not empty."""
    history_style: str = "inline"
    """``inline`` (past turns in one user message) or ``chat`` (a growing conversation)."""
    goal_every_turn: bool = False
    """``chat`` style: restate the goal in every user message, next to each observation, not
    only in the first (it helped a tiny model imitate; see benchmarks/RESULTS.md)."""
    goal_position: str = "before"
    """Where a user message states the goal: ``before`` the observation (the first thing read)
    or ``after`` it (next to where the answer starts, as ALFWorld's first observation ends with
    its task)."""

    def __post_init__(self) -> None:
        if self.history_turns < 0:
            raise ConfigError("prompt.history_turns", f"must be >= 0, got {self.history_turns}.")
        if self.max_admissible < 0:
            raise ConfigError("prompt.max_admissible", f"must be >= 0, got {self.max_admissible}.")
        if self.history_style not in HISTORY_STYLES:
            raise ConfigError("prompt.history_style", f"{self.history_style!r} is not a style.",
                              f"use one of: {', '.join(HISTORY_STYLES)}.")
        if self.goal_position not in GOAL_POSITIONS:
            raise ConfigError("prompt.goal_position", f"{self.goal_position!r} is not a position.",
                              f"use one of: {', '.join(GOAL_POSITIONS)}.")


_PAIRS = {"`": "`", "'": "'", '"': '"', "[": "]", "<": ">"}


def _unwrap(candidate: str) -> str:
    """Strip markdown emphasis left by ``**Action:**`` and matching wrappers (``"go north"``)."""
    candidate = candidate.strip().lstrip("*_").strip()
    if candidate.endswith(("**", "__")):
        candidate = candidate[:-2].strip()
    while len(candidate) >= 2 and _PAIRS.get(candidate[0]) == candidate[-1]:
        candidate = candidate[1:-1].strip()
    return candidate


class ReActFormat:
    """Builds ReAct chat messages and parses actions out of model output.

    Args:
        think: Ask for a ``Thought:`` before the ``Action:``.
        history_turns: Past turns shown in the prompt.
        max_admissible: Most admissible actions listed.
        system_prompt: Replaces the built-in system prompt when not empty.
        history_style: ``inline`` or ``chat`` (see the module docstring).
        goal_every_turn: With ``chat``, restate the goal in every user message.
        goal_position: ``before`` or ``after`` the observation in a user message.
    """

    def __init__(
        self,
        *,
        think: bool = True,
        history_turns: int = 8,
        max_admissible: int = 50,
        system_prompt: str = "",
        history_style: str = "inline",
        goal_every_turn: bool = False,
        goal_position: str = "before",
    ) -> None:
        ReActFormatConfig(
            think=think,
            history_turns=history_turns,
            max_admissible=max_admissible,
            system_prompt=system_prompt,
            history_style=history_style,
            goal_every_turn=goal_every_turn,
            goal_position=goal_position,
        )
        self.think = think
        self.history_turns = history_turns
        self.max_admissible = max_admissible
        self.history_style = history_style
        self.goal_every_turn = goal_every_turn
        self.goal_position = goal_position
        self._custom_system = system_prompt
        self.system_prompt = system_prompt or self._default_system()

    def settings(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this format."""
        return {"think": self.think, "history_turns": self.history_turns,
                "max_admissible": self.max_admissible, "system_prompt": self._custom_system,
                "history_style": self.history_style, "goal_every_turn": self.goal_every_turn,
                "goal_position": self.goal_position}

    def with_history(self, turns: int) -> ReActFormat:
        """The same format showing at most ``turns`` past turns."""
        return ReActFormat(**{**self.settings(), "history_turns": turns})

    def _default_system(self) -> str:
        reply = (
            "Reply with one line 'Thought: <your reasoning>' and then one line "
            "'Action: <action>'."
            if self.think
            else "Reply with exactly one line 'Action: <action>'."
        )
        return f"You are an agent acting in a text environment to reach a goal. {reply}"

    def messages(self, inp: AgentInput) -> list[Message]:
        """Chat messages for one agent input: system + user (``inline``) or the conversation."""
        if self.history_style == "chat":
            return self._conversation(inp)
        parts = []
        turns = inp.history[-self.history_turns :] if self.history_turns else []
        if turns:
            lines = [f"Observation: {t.observation}\nAction: {t.action}" for t in turns]
            skipped = len(inp.history) - len(turns)
            header = f"History ({skipped} earlier turns omitted):" if skipped else "History:"
            parts.append(header + "\n" + "\n".join(lines))
        parts.append(f"Observation: {inp.observation}")
        parts += self._now(inp)
        parts = self._with_goal(parts, inp.goal)
        parts.append("What do you do next?")
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    def _now(self, inp: AgentInput) -> list[str]:
        """What only the current step shows: the last action's error and the admissible list."""
        parts = []
        if inp.last_action_error:
            parts.append(f"Your last action failed: {inp.last_action_error}")
        if inp.admissible_actions and self.max_admissible:
            shown = inp.admissible_actions[: self.max_admissible]
            more = len(inp.admissible_actions) - len(shown)
            listing = "\n".join(f"- {a}" for a in shown) + (f"\n(+{more} more)" if more else "")
            parts.append("Admissible actions:\n" + listing)
        return parts

    def _with_goal(self, parts: list[str], goal: str) -> list[str]:
        """``parts`` of a user message with the goal line at ``goal_position``."""
        line = f"Goal: {goal}"
        return [line, *parts] if self.goal_position == "before" else [*parts, line]

    def _conversation(self, inp: AgentInput) -> list[Message]:
        """``chat`` style: the goal and first observation, then one message per turn.

        When more than ``history_turns`` turns have passed, the first turn (it usually describes
        the scene) and the latest ``history_turns - 1`` are kept and a note counts the rest. The
        error and admissible list of the current step are not kept in later prompts, so steps
        that show them break the prefix chain there (packing then starts a new sequence).
        """
        history = list(inp.history)
        keep = self.history_turns
        if len(history) <= keep:
            shown, skipped = history, 0
        elif keep >= 2:
            shown, skipped = [history[0]] + history[len(history) - keep + 1:], len(history) - keep
        else:
            shown, skipped = history[len(history) - keep:], len(history) - keep
        first_kept = 1 if skipped and keep >= 2 else 0
        observations = [t.observation for t in shown] + [inp.observation]
        messages: list[Message] = [{"role": "system", "content": self.system_prompt}]
        for i, observation in enumerate(observations):
            parts = [f"({skipped} earlier turns omitted)"] if skipped and i == first_kept else []
            parts.append(f"Observation: {observation}")
            if i == len(shown):
                parts += self._now(inp)
            if i == 0 or self.goal_every_turn:
                parts = self._with_goal(parts, inp.goal)
            messages.append({"role": "user", "content": "\n\n".join(parts)})
            if i < len(shown):
                turn = shown[i]
                said = turn.output or self.render_action(turn.action)
                messages.append({"role": "assistant", "content": said})
        return messages

    def parse(self, text: str) -> str:
        """The action in a raw model output.

        The text after the last ``Action:`` (to the end of that line); without one, the first
        non-empty line that is not a ``Thought:``. Markdown emphasis and a matching pair of
        surrounding quotes, backticks or brackets are removed. Returns ``""`` when nothing usable is there (the env then reports an empty action).
        """
        matches = _ACTION.findall(text)
        if matches:
            candidate = matches[-1]
        else:
            lines = [ln for ln in text.splitlines() if ln.strip() and not _THOUGHT_PREFIX.match(ln)]
            candidate = lines[0] if lines else ""
        return _unwrap(candidate)

    def render_action(self, action: str, thought: str = "") -> str:
        """The text a model should produce for ``action`` (for demonstrations and SFT targets)."""
        if self.think:
            return f"Thought: {thought or 'I will ' + action + '.'}\nAction: {action}"
        return f"Action: {action}"


def save_prompt_settings(folder: str | Path, fmt: ReActFormat) -> Path:
    """Write ``fmt``'s settings to ``folder/agentgym_prompt.json`` (next to a checkpoint)."""
    path = Path(folder) / PROMPT_FILE
    path.write_text(json.dumps(fmt.settings(), indent=2) + "\n")
    return path


def load_prompt_settings(path_or_id: str | Path) -> dict[str, Any]:
    """The prompt settings saved in a local checkpoint folder; ``{}`` when there are none."""
    path = Path(path_or_id) / PROMPT_FILE
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text())
    known = {f.name for f in fields(ReActFormatConfig)}
    return {k: v for k, v in saved.items() if k in known}


def checkpoint_format(path_or_id: str | Path, **overrides: Any) -> ReActFormat:
    """The prompt format to act with a checkpoint: its saved settings, then ``overrides``.

    Overrides that are ``None`` are ignored, so a policy config leaving a prompt field unset gets
    what the model was trained with (or ReActFormat's default for a checkpoint without the file).
    """
    settings = load_prompt_settings(path_or_id)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return ReActFormat(**settings)
