"""Step rewarders and process reward models (see docs/rewards.md)."""

from agentgym.rewards.agentprm import AgentPRM, branch_rollouts, mc_targets
from agentgym.rewards.base import (
    Composite,
    CompositeConfig,
    OutcomeReward,
    OutcomeRewardConfig,
    StepRewarder,
    apply_rewarders,
)
from agentgym.rewards.checklist import ChecklistReward, PromptedJudge, checklist_reward
from agentgym.rewards.grounding import AdmissibleReward
from agentgym.rewards.implicit import ImplicitPRM
from agentgym.rewards.inverseprm import InversePRM
from agentgym.rewards.monitor import RewardHackingMonitor
from agentgym.rewards.pav import PAV
from agentgym.rewards.prm import ProcessRewardModel
from agentgym.rewards.spa import SPA

__all__ = [
    "PAV",
    "SPA",
    "AdmissibleReward",
    "AgentPRM",
    "ChecklistReward",
    "Composite",
    "CompositeConfig",
    "ImplicitPRM",
    "InversePRM",
    "OutcomeReward",
    "OutcomeRewardConfig",
    "ProcessRewardModel",
    "PromptedJudge",
    "RewardHackingMonitor",
    "StepRewarder",
    "apply_rewarders",
    "branch_rollouts",
    "checklist_reward",
    "mc_targets",
]
