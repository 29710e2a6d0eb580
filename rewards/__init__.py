"""Step rewarders and process reward models."""

from agentgym.rewards.base import (
    Composite,
    CompositeConfig,
    OutcomeReward,
    OutcomeRewardConfig,
    StepRewarder,
    apply_rewarders,
)
from agentgym.rewards.grounding import AdmissibleReward

__all__ = [
    "AdmissibleReward",
    "Composite",
    "CompositeConfig",
    "OutcomeReward",
    "OutcomeRewardConfig",
    "StepRewarder",
    "apply_rewarders",
]
