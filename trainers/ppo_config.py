"""Settings of the PPO trainer (:class:`PPOConfig`, used by
:class:`~agentgym.trainers.ppo.PPOTrainer` and the ``ppo`` / ``grpo`` trainer configs), checked
when built: a bad value names the field and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from agentgym.errors import ConfigError
from agentgym.policies.hf import DTYPES
from agentgym.trainers.fsdp import PARALLEL
from agentgym.trainers.losses import KL_ESTIMATORS

__all__ = ["ADVANTAGES", "CRITICS", "PPOConfig"]

#: ``advantage`` settings: GAE with a critic, or group baselines.
ADVANTAGES = ("gae", "grpo", "rloo")
#: ``critic`` settings.
CRITICS = ("shared", "separate", "none")
_KL_MODES = ("reward", "loss")


@dataclass(kw_only=True)
class PPOConfig:
    """Config of :class:`~agentgym.trainers.ppo.PPOTrainer`."""

    advantage: str = "gae"
    """``gae`` (critic's values, turn-level GAE), ``grpo`` or ``rloo`` (same-start groups)."""
    critic: str = "shared"
    """``shared`` (value head on the policy), ``separate`` (own copy of the model) or ``none``."""
    step_groups: bool = False
    """Group baselines only: add GiGPO-style step-group advantages (turns on identical states)."""
    step_weight: float = 1.0
    """Weight of the step-group advantage added to the episode's group advantage."""
    scale_groups: bool = False
    """Divide group advantages by the group's std (GRPO's normalisation; reweights groups)."""
    constrain: str = "none"
    """How the collecting policy decoded: ``none``, or ``admissible`` (``policy.constrain``):
    action log-probs are then renormalised over the admissible answers, as it sampled them."""
    reward_key: str = "total"
    """Which ``step.rewards`` entry is the reward (``total`` of a Composite, or a rewarder name)."""
    gamma: float = 0.99
    """Discount per turn."""
    lam: float = 0.95
    """GAE's lambda."""
    lr: float = 1e-4
    """AdamW learning rate of the policy."""
    critic_lr: float = 0.0
    """Learning rate of the critic's parameters; 0: the same as ``lr``."""
    epochs: int = 2
    """Passes over each batch."""
    minibatch_turns: int = 64
    """Turns per optimizer step."""
    micro_tokens: int = 8192
    """Most (padded) tokens per forward pass; minibatches are split to fit."""
    clip: float = 0.2
    """Ratio clip range."""
    value_clip: float = 0.2
    """Value clip range around the old values; 0 disables."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus (summed over action tokens, per turn)."""
    kl_coef: float = 0.0
    """Weight of the KL to the reference policy; 0 loads no reference."""
    kl_mode: str = "reward"
    """``reward``: subtract ``kl_coef * KL`` from each turn's reward; ``loss``: add it to the
    loss."""
    kl_estimator: str = "k1"
    """``k1`` (log-ratio) or ``k3`` (Schulman's non-negative estimator)."""
    normalize_advantages: bool = True
    """Whiten the batch's advantages."""
    clip_grad: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_prompt_tokens: int = 2048
    """Longest prompt when a step's prompt must be rebuilt (steps without recorded ids)."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ..."""
    dtype: str = "auto"
    """Autocast dtype (``auto``: bfloat16 on cuda, float32 on cpu); weights stay float32."""
    progress: bool = True
    """Show a progress bar over optimizer steps."""
    parallel: str = "ddp"
    """Under ``torchrun``: ``ddp`` (a whole copy of each model per rank, gradients averaged) or
    ``fsdp`` (parameters, gradients and optimizer state sharded over the ranks, for models that
    do not fit one device). The same update either way; no effect in one process."""

    def __post_init__(self) -> None:
        for name, allowed in (("advantage", ADVANTAGES), ("critic", CRITICS),
                              ("parallel", PARALLEL),
                              ("constrain", ("none", "admissible")),
                              ("kl_mode", _KL_MODES), ("kl_estimator", KL_ESTIMATORS),
                              ("dtype", DTYPES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"trainer.{name}", f"{getattr(self, name)!r} is not allowed.",
                                  f"use one of: {', '.join(allowed)}.")
        if self.advantage == "gae" and self.critic == "none":
            raise ConfigError("trainer.critic", "advantage=gae needs a critic.",
                              "set trainer.critic=shared, or trainer.advantage=rloo / grpo.")
        if self.step_groups and self.advantage == "gae":
            raise ConfigError("trainer.step_groups", "step groups refine group baselines only.",
                              "set trainer.advantage=grpo or rloo, or step_groups=false.")
        for name in ("epochs", "minibatch_turns", "micro_tokens", "max_prompt_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"trainer.{name}", f"must be >= 1, got {getattr(self, name)}.")
        for name in ("critic_lr", "value_clip", "vf_coef", "ent_coef", "kl_coef", "clip_grad",
                     "weight_decay", "step_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"trainer.{name}", f"must be >= 0, got {getattr(self, name)}.")
        if not self.lr > 0:
            raise ConfigError("trainer.lr", f"must be > 0, got {self.lr}.", "try 1e-5 to 1e-3.")
        if not 0 < self.clip < 1:
            raise ConfigError("trainer.clip", f"must be in (0, 1), got {self.clip}.", "use 0.2.")
        for name in ("gamma", "lam"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"trainer.{name}",
                                  f"must be in [0, 1], got {getattr(self, name)}.")
