"""Turn rows: the token data of each env step as the policy produced it, batched for training.

A :class:`TurnRow` is one step's prompt ids followed by its action ids, exactly the tokens the
policy saw and wrote (``step.prompt_ids`` / ``step.action_ids`` recorded at rollout; rebuilt
with the policy's prompt format when a step lacks them, e.g. a demonstration). Batches are padded
on the right with a 0/1 mask over the action tokens and the position of the last prompt token,
where a critic reads ``V(s_t)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentgym.errors import ConfigError
from agentgym.policies.hf import fit_prompt
from agentgym.prompts import ReActFormat
from agentgym.types import AgentInput, Trajectory, Turn

__all__ = ["TurnRow", "collate_rows", "final_input", "micro_batches", "turn_rows"]


@dataclass(kw_only=True)
class TurnRow:
    """One turn's tokens: ``prompt_ids + action_ids``; ``episode`` and ``turn`` locate the step."""

    prompt_ids: list[int]
    action_ids: list[int]
    episode: int = -1
    turn: int = -1

    def __len__(self) -> int:
        return len(self.prompt_ids) + len(self.action_ids)


def turn_rows(
    trajectories: Sequence[Trajectory],
    tokenizer,
    fmt: ReActFormat,
    *,
    max_prompt_tokens: int,
) -> list[TurnRow]:
    """One :class:`TurnRow` per step of ``trajectories``, in order.

    Recorded token ids are used as they are; a step without them gets the prompt HFPolicy
    would render (``fmt``, at most ``max_prompt_tokens``) and its ``raw_output`` plus eos.
    """
    rows = []
    eos = tokenizer.eos_token_id
    for e, traj in enumerate(trajectories):
        for t, step in enumerate(traj.steps):
            prompt, action = step.prompt_ids, step.action_ids
            if prompt is None:
                prompt, _ = fit_prompt(tokenizer, fmt, traj.agent_input(t), max_prompt_tokens)
            if action is None:
                action = list(tokenizer(step.raw_output, add_special_tokens=False)["input_ids"])
                action = action + ([eos] if eos is not None else [])
            if not prompt or not action:
                raise ConfigError("trajectories", f"episode {e} step {t} has no prompt or action "
                                  "tokens.", "collect the trajectories with a token policy (hf).")
            rows.append(TurnRow(prompt_ids=list(prompt), action_ids=list(action), episode=e,
                                turn=t))
    return rows


def final_input(traj: Trajectory) -> AgentInput:
    """The :class:`AgentInput` of the observation after the last step (for a bootstrap value)."""
    obs = traj.final_observation or {}
    goal = obs.get("goal") or (traj.steps[0].observation["goal"] if traj.steps else "")
    history = [Turn(observation=s.observation["text"], action=s.action, output=s.raw_output)
               for s in traj.steps]
    return AgentInput(env_id=traj.env_id, goal=goal, observation=obs.get("text", ""),
                      admissible_actions=list(obs.get("admissible_actions", ())),
                      history=history, last_action_error=obs.get("last_action_error", ""))


def micro_batches(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Indices grouped so that ``rows * longest`` stays within ``token_budget`` (a row longer
    than the budget goes alone). Rows are sorted by length first, to pad little."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) + 1) * lengths[i] > token_budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def collate_rows(rows: Sequence[TurnRow], pad_id: int) -> dict[str, Any]:
    """Right-padded ``input_ids``, ``attention_mask``, ``action_mask`` (1 on action tokens) and
    ``value_index`` (position of each row's last prompt token)."""
    import torch

    width = max(len(r) for r in rows)
    n = len(rows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention = torch.zeros((n, width), dtype=torch.long)
    action = torch.zeros((n, width), dtype=torch.float32)
    value_index = torch.zeros(n, dtype=torch.long)
    for k, r in enumerate(rows):
        p, a = len(r.prompt_ids), len(r.action_ids)
        input_ids[k, :p + a] = torch.tensor(r.prompt_ids + r.action_ids, dtype=torch.long)
        attention[k, :p + a] = 1
        action[k, p:p + a] = 1.0
        value_index[k] = p - 1
    return {"input_ids": input_ids, "attention_mask": attention, "action_mask": action,
            "value_index": value_index}
