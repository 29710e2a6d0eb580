"""Turn rows: the token data of env steps as the policy produced them, packed and batched.

Each step contributes its prompt ids and its action ids, exactly the tokens the policy saw and
wrote (``step.prompt_ids`` / ``step.action_ids`` recorded at rollout; rebuilt with the policy's
prompt format when a step lacks them, e.g. a demonstration).

Packing: when a step's prompt starts with the previous step's whole row (prompt then action), as
with ``history_style=chat``, the step is appended to that row, so one causal forward pass gives
every turn of the episode its action log-probabilities and its ``V(s_t)`` (read at the token
before the action) exactly as separate rows would. The check is on token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.hf import fit_prompt
from agentgym.prompts import ReActFormat
from agentgym.types import AgentInput, Trajectory, Turn

__all__ = ["AdmissibleConstraint", "TurnRow", "collate_rows", "final_input", "micro_batches",
           "per_token", "single_turn_row", "split_like", "state_key", "step_rewards",
           "turn_minibatches", "turn_rows"]


@dataclass(kw_only=True)
class TurnRow:
    """A token sequence holding one or more turns.

    Attributes:
        input_ids: The tokens.
        spans: ``[start, end)`` of each turn's action tokens; the critic reads the turn's state
            value at ``start - 1`` (the last token before the action).
        turns: Global index of each span's turn (the order of :func:`turn_rows`).
    """

    input_ids: list[int]
    spans: list[tuple[int, int]] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)


def single_turn_row(prompt_ids: Sequence[int], action_ids: Sequence[int], turn: int = 0) -> TurnRow:
    """A row of one turn: ``prompt_ids`` then ``action_ids``."""
    p = len(prompt_ids)
    return TurnRow(input_ids=[*prompt_ids, *action_ids], spans=[(p, p + len(action_ids))],
                   turns=[turn])


def turn_rows(
    trajectories: Sequence[Trajectory],
    tokenizer,
    fmt: ReActFormat,
    *,
    max_prompt_tokens: int,
    pack: bool = True,
) -> tuple[list[TurnRow], int]:
    """Rows holding every step of ``trajectories``, and the number of turns.

    Turns are numbered in order (episode by episode, step by step). With ``pack``, a step whose
    prompt extends the current row is appended to it (see the module docstring).
    """
    rows: list[TurnRow] = []
    eos = tokenizer.eos_token_id
    turn = 0
    for e, traj in enumerate(trajectories):
        current: TurnRow | None = None
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
            n = len(current.input_ids) if current else 0
            if pack and current and len(prompt) > n and list(prompt[:n]) == current.input_ids:
                start = len(prompt)
                current.input_ids += list(prompt[n:]) + list(action)
                current.spans.append((start, start + len(action)))
                current.turns.append(turn)
            else:
                current = single_turn_row(list(prompt), list(action), turn)
                rows.append(current)
            turn += 1
    return rows, turn


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
    """Right-padded ``input_ids`` and ``attention_mask``, ``action_mask`` (1 on action tokens),
    and per span in row order: ``span_row``, ``value_index`` (position before the action) and
    ``turn`` (its global turn index)."""
    import torch

    width = max(len(r) for r in rows)
    n = len(rows)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention = torch.zeros((n, width), dtype=torch.long)
    action = torch.zeros((n, width), dtype=torch.float32)
    span_row, value_index, turns = [], [], []
    for k, r in enumerate(rows):
        input_ids[k, :len(r)] = torch.tensor(r.input_ids, dtype=torch.long)
        attention[k, :len(r)] = 1
        for (start, end), turn in zip(r.spans, r.turns):
            action[k, start:end] = 1.0
            span_row.append(k)
            value_index.append(start - 1)
            turns.append(turn)
    return {"input_ids": input_ids, "attention_mask": attention, "action_mask": action,
            "span_row": torch.tensor(span_row, dtype=torch.long),
            "value_index": torch.tensor(value_index, dtype=torch.long),
            "turn": torch.tensor(turns, dtype=torch.long)}


class AdmissibleConstraint:
    """Log-probabilities of the policy that decoded with ``constrain=admissible``.

    Such a policy samples each token from the model's distribution renormalised over the tokens
    that continue some admissible answer (:func:`~agentgym.policies.hf.answer_trie`). Trainers
    must score its actions with that same distribution, or the PPO ratio and the DPO margins
    compare a different policy: :meth:`apply` adds ``log Z_all - log Z_allowed`` to each such
    token's log-probability (and gives the entropy over the allowed tokens). Once an action leaves
    the trie (it was not decoded under the constraint) its remaining tokens are left as they are.

    Args:
        tokenizer: The policy's tokenizer.
        fmt: The policy's prompt format (answers may be rendered ``Action: ...``).
        admissible: Per turn (global turn index), the admissible actions of its observation.
    """

    def __init__(self, tokenizer, fmt: ReActFormat, admissible: Sequence[Sequence[str]]) -> None:
        from agentgym.policies.hf import answer_trie

        eos = tokenizer.eos_token_id
        cache: dict[tuple[str, ...], dict | None] = {}
        self.tries: list[dict | None] = []
        for actions in admissible:
            key = tuple(actions)
            if key not in cache:
                cache[key] = answer_trie(tokenizer, fmt, key, eos)
            self.tries.append(cache[key])

    def positions(self, rows: Sequence[TurnRow]) -> dict[str, Any] | None:
        """Where the constraint applies in a batch of ``rows``: row, position and allowed ids
        (padded with -1) of each constrained action token; ``None`` when nowhere."""
        import torch

        found: list[tuple[int, int, list[int]]] = []
        for k, row in enumerate(rows):
            for (start, end), turn in zip(row.spans, row.turns):
                node = self.tries[turn] if 0 <= turn < len(self.tries) else None
                for p in range(start, end):
                    if not node:
                        break
                    found.append((k, p, list(node)))
                    node = node.get(row.input_ids[p])
        if not found:
            return None
        width = max(len(a) for _, _, a in found)
        allowed = torch.full((len(found), width), -1, dtype=torch.long)
        for i, (_, _, ids) in enumerate(found):
            allowed[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return {"row": torch.tensor([f[0] for f in found]),
                "pos": torch.tensor([f[1] for f in found]), "allowed": allowed}

    @staticmethod
    def apply(logits, logp, ent, where: dict[str, Any] | None):
        """``(logp, ent)`` renormalised at ``where`` (see :meth:`positions`); new tensors."""
        import torch

        if where is None:
            return logp, ent
        row, pos = where["row"].to(logits.device), where["pos"].to(logits.device)
        allowed = where["allowed"].to(logits.device)
        valid = allowed >= 0
        scores = logits[row, pos - 1]
        if scores.dtype in (torch.float16, torch.bfloat16):
            scores = scores.float()
        # padding gets a very low finite score, not -inf: -inf would make the entropy's
        # gradient NaN (0 * inf) even where it is masked out
        picked = scores.gather(1, allowed.clamp(min=0)).masked_fill(~valid, -1e4)
        shift = torch.logsumexp(scores, 1) - torch.logsumexp(picked, 1)
        logp = logp.index_put((row, pos), logp[row, pos] + shift.to(logp.dtype))
        if ent is not None:
            logq = torch.log_softmax(picked, 1)
            inside = (logq.exp() * logq * valid).sum(1)
            ent = ent.index_put((row, pos), -inside.to(ent.dtype))
        return logp, ent


# --- per-turn values ------------------------------------------------------------------------


def state_key(observation: dict[str, Any]) -> tuple:
    """What makes two turns' states identical for step groups: the observation the agent saw."""
    return (observation.get("goal", ""), observation.get("text", ""),
            tuple(observation.get("admissible_actions", ())),
            observation.get("last_action_error", ""))


def step_rewards(trajectories: Sequence[Trajectory], key: str) -> list[np.ndarray]:
    """Each episode's ``step.rewards[key]`` as an array; a clear error names a step without it."""
    out = []
    for e, traj in enumerate(trajectories):
        missing = [t for t, s in enumerate(traj.steps) if key not in s.rewards]
        if missing:
            have = sorted(traj.steps[missing[0]].rewards) or ["none"]
            raise ConfigError("trainer.reward_key", f"episode {e} step {missing[0]} has no "
                              f"reward {key!r} (it has: {', '.join(have)}).",
                              "score the trajectories with the rewarder first, or set "
                              "trainer.reward_key to one of the names it has.")
        out.append(np.array([s.rewards[key] for s in traj.steps], dtype=np.float64))
    return out


def split_like(flat: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """``flat`` cut into pieces shaped like ``like``."""
    out, start = [], 0
    for piece in like:
        out.append(flat[start:start + len(piece)])
        start += len(piece)
    return out


def turn_minibatches(rows: Sequence[TurnRow], order, turns: int) -> list[list[int]]:
    """Rows in ``order`` cut into minibatches of about ``turns`` turns (whole rows; at least one
    row each)."""
    out: list[list[int]] = []
    current: list[int] = []
    count = 0
    for i in order.tolist():
        if current and count + len(rows[i].turns) > turns:
            out.append(current)
            current, count = [], 0
        current.append(i)
        count += len(rows[i].turns)
    if current:
        out.append(current)
    return out


def per_token(rows: Sequence[TurnRow], mask, value_of):
    """A ``mask``-shaped tensor holding, on each turn's action tokens, ``value_of(turn)`` (a
    number, or a tensor of the span's length)."""
    import torch

    out = torch.zeros_like(mask)
    for k, row in enumerate(rows):
        for (start, end), turn in zip(row.spans, row.turns):
            value = value_of(turn)
            out[k, start:end] = value.to(out.device) if torch.is_tensor(value) else value
    return out
