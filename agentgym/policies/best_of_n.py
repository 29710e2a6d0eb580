"""Best-of-N: sample N actions per step, act the one a step scorer rates highest.

From a config (``policy=best_of_n``)::

    agentgym eval suite=household_valid_unseen policy=best_of_n policy.n=8 \
        policy.policy.path=runs/household_bc/sft/checkpoint-240 policy.scorer.name=admissible
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.errors import ConfigError
from agentgym.policies.base import Policy
from agentgym.types import ActionOutput, AgentInput, Step, Trajectory

__all__ = ["BestOfN", "BestOfNConfig", "best_of_n", "candidate_trajectory"]


def candidate_trajectory(inp: AgentInput, out: ActionOutput) -> Trajectory:
    """The episode so far plus one candidate step, as a scorer sees it.

    Past turns become steps (their observation text and action), so a process reward model
    scores the candidate in its full context; the candidate is the last step.
    """
    def obs(text: str, admissible: Sequence[str] = (), error: str = "") -> dict:
        return {"text": text, "goal": inp.goal, "admissible_actions": tuple(admissible),
                "last_action_error": error}

    steps = [
        Step(observation=obs(t.observation), raw_output=t.output or t.action, action=t.action,
             reward=0.0,
             terminated=False, truncated=False)
        for t in inp.history
    ]
    steps.append(Step(
        observation=obs(inp.observation, inp.admissible_actions, inp.last_action_error),
        raw_output=out.text, action=out.action, reward=0.0, terminated=False, truncated=False,
    ))
    return Trajectory(env_id=inp.env_id, task={}, seed=-1, steps=steps)


class BestOfN:
    """Samples ``n`` candidate actions per input and keeps the best by a step scorer.

    The wrapped policy is called once per step on the batch repeated ``n`` times (so a batched
    model samples all candidates in one call); the scorer is anything with the
    :class:`~agentgym.rewards.StepRewarder` interface, e.g. a process reward model, and scores
    every candidate's last step in one call. Ties go to the first candidate. The chosen output's
    ``meta["best_of_n"]`` keeps every candidate action and score.

    Args:
        policy: A sampling policy (with temperature > 0, or candidates will repeat).
        scorer: A step rewarder; higher is better.
        n: Candidates per step.
    """

    def __init__(self, policy: Policy, scorer, *, n: int = 4) -> None:
        if n < 1:
            raise ConfigError("policy.n", f"must be >= 1, got {n}.", "use 4.")
        self.policy, self.scorer, self.n = policy, scorer, n

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        if not batch:
            return []
        repeated = [inp for inp in batch for _ in range(self.n)]
        outputs = self.policy.act(repeated)
        scores = self.scorer.score([candidate_trajectory(i, o) for i, o in zip(repeated, outputs)])
        last = np.array([float(s[-1]) for s in scores])
        chosen = []
        for k in range(len(batch)):
            block = slice(k * self.n, (k + 1) * self.n)
            best = int(np.argmax(last[block]))
            out = outputs[block][best]
            out.meta = {**out.meta, "best_of_n": {
                "actions": [o.action for o in outputs[block]],
                "scores": last[block].tolist(),
                "chosen": best,
                "scorer": getattr(self.scorer, "name", type(self.scorer).__name__),
            }}
            chosen.append(out)
        return chosen


@dataclass(kw_only=True)
class BestOfNConfig:
    """Config of :func:`best_of_n` (``conf/policy/best_of_n.yaml``)."""

    n: int = 4
    """Candidates sampled per step."""
    policy: dict[str, Any] = field(default_factory=lambda: {"name": "hf", "temperature": 1.0})
    """The sampling policy, as any ``policy`` section (``name`` plus its settings)."""
    scorer: dict[str, Any] = field(default_factory=lambda: {"name": "admissible"})
    """The step scorer, as a rewarder section (:mod:`agentgym.rewards.registry`)."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError("policy.n", f"must be >= 1, got {self.n}.", "use 4.")
        if self.policy.get("name") == "best_of_n":
            raise ConfigError("policy.policy.name", "best_of_n cannot wrap itself.",
                              "give the sampling policy, e.g. policy.policy.name=hf.")


def best_of_n(
    *, n: int = 4, policy: Mapping[str, Any] | None = None, scorer: Mapping[str, Any] | None = None
) -> BestOfN:
    """A :class:`BestOfN` built from config sections for the sampling policy and the scorer."""
    from agentgym.policies.registry import make_policy
    from agentgym.rewards.registry import make_rewarder

    defaults = BestOfNConfig()
    config = BestOfNConfig(n=n, policy=dict(policy or defaults.policy),
                           scorer=dict(scorer or defaults.scorer))
    return BestOfN(make_policy(config.policy), make_rewarder(config.scorer), n=config.n)
