"""Step rewarders and process reward models."""

from agentgym.rewards.base import (
    Composite,
    CompositeConfig,
    OutcomeReward,
    OutcomeRewardConfig,
    StepRewarder,
    apply_rewarders,
)

__all__ = [
    "Composite",
    "CompositeConfig",
    "OutcomeReward",
    "OutcomeRewardConfig",
    "StepRewarder",
    "apply_rewarders",
]
