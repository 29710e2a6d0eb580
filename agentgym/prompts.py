"""Prompt formats: agent input → chat messages, and raw model output → env action.

The default is ReAct: the model answers ``Thought: <reasoning>`` then ``Action: <action>``; the
action is what follows the last ``Action:``. With ``think=False`` the model is asked for the
``Action:`` line only (shorter generations for small models).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentgym.errors import ConfigError
from agentgym.types import AgentInput

__all__ = ["ReActFormat", "ReActFormatConfig", "Message"]

Message = dict[str, str]

_ACTION = re.compile(r"\baction\s*:\s*(.*)", re.IGNORECASE)
_THOUGHT_PREFIX = re.compile(r"^\s*thought\s*:", re.IGNORECASE)


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

    def __post_init__(self) -> None:
        if self.history_turns < 0:
            raise ConfigError("prompt.history_turns", f"must be >= 0, got {self.history_turns}.")
        if self.max_admissible < 0:
            raise ConfigError("prompt.max_admissible", f"must be >= 0, got {self.max_admissible}.")


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
    """

    def __init__(
        self,
        *,
        think: bool = True,
        history_turns: int = 8,
        max_admissible: int = 50,
        system_prompt: str = "",
    ) -> None:
        ReActFormatConfig(
            think=think,
            history_turns=history_turns,
            max_admissible=max_admissible,
            system_prompt=system_prompt,
        )
        self.think = think
        self.history_turns = history_turns
        self.max_admissible = max_admissible
        self.system_prompt = system_prompt or self._default_system()

    def _default_system(self) -> str:
        reply = (
            "Reply with one line 'Thought: <your reasoning>' and then one line "
            "'Action: <action>'."
            if self.think
            else "Reply with exactly one line 'Action: <action>'."
        )
        return f"You are an agent acting in a text environment to reach a goal. {reply}"

    def messages(self, inp: AgentInput) -> list[Message]:
        """Chat messages (system + user) for one agent input."""
        parts = [f"Goal: {inp.goal}"]
        turns = inp.history[-self.history_turns :] if self.history_turns else []
        if turns:
            lines = [f"Observation: {t.observation}\nAction: {t.action}" for t in turns]
            skipped = len(inp.history) - len(turns)
            header = f"History ({skipped} earlier turns omitted):" if skipped else "History:"
            parts.append(header + "\n" + "\n".join(lines))
        parts.append(f"Observation: {inp.observation}")
        if inp.last_action_error:
            parts.append(f"Your last action failed: {inp.last_action_error}")
        if inp.admissible_actions and self.max_admissible:
            shown = inp.admissible_actions[: self.max_admissible]
            more = len(inp.admissible_actions) - len(shown)
            listing = "\n".join(f"- {a}" for a in shown) + (f"\n(+{more} more)" if more else "")
            parts.append("Admissible actions:\n" + listing)
        parts.append("What do you do next?")
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

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
