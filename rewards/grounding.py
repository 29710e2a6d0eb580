"""Grounding: was the action one the environment could carry out?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agentgym.types import Trajectory

__all__ = ["AdmissibleReward"]


class AdmissibleReward:
    """1.0 for an action the environment can execute, else 0.0.

    Where the observation lists admissible actions, the action must be among them (so candidate
    actions can be scored before they are executed, e.g. by best-of-N); where the list is empty
    (an open action space), the env's ``info["valid_action"]`` after the step decides, and a step
    not executed yet counts as grounded.
    """

    name = "admissible"

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        out = []
        for traj in trajectories:
            values = []
            for step in traj.steps:
                allowed = step.observation.get("admissible_actions") or ()
                if allowed:
                    values.append(1.0 if step.action in allowed else 0.0)
                else:
                    values.append(1.0 if step.info.get("valid_action", True) else 0.0)
            out.append(np.asarray(values, dtype=np.float64))
        return out
