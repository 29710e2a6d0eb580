"""Watch for reward hacking: the PRM's reward going up while true success goes down.

A policy trained on a learned reward can find what the reward model over-rates instead of what
wins episodes. AgentPRM's authors saw exactly this: success fell from 82% to 70% while the PRM's
reward kept rising. :class:`RewardHackingMonitor` takes one (mean PRM score, success rate) pair
per training iteration and warns when the two part ways.

Example:
    >>> monitor = RewardHackingMonitor(window=3)
    >>> for it, (score, success) in enumerate([(0.50, 0.82), (0.55, 0.78), (0.60, 0.70)]):
    ...     message = monitor.update(it, score, success)             # doctest: +SKIP
    >>> monitor.correlation()                                        # doctest: +SKIP
"""

from __future__ import annotations

import csv
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError

__all__ = ["RewardHackingMonitor", "RewardHackingMonitorConfig", "RewardHackingWarning"]

log = logging.getLogger(__name__)

#: Slack on the thresholds, so that a rise of exactly 0.02 written as 0.72 - 0.70 still counts.
_TOLERANCE = 1e-9


class RewardHackingWarning(UserWarning):
    """The PRM's reward rose while the true success rate fell (:class:`RewardHackingMonitor`)."""


@dataclass(kw_only=True)
class RewardHackingMonitorConfig:
    """Config of :class:`RewardHackingMonitor`."""

    window: int = 3
    """Iterations compared, the latest included (at least 2)."""
    min_reward_rise: float = 0.02
    """Rise of the mean PRM score over the window that counts as rising."""
    min_success_drop: float = 0.02
    """Fall of the success rate below the window's best that counts as falling."""

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ConfigError("monitor.window", f"must be >= 2 (a change needs two points), got "
                              f"{self.window}.", "use 3.")
        for name in ("min_reward_rise", "min_success_drop"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"monitor.{name}", f"must be a finite number > 0, got {value}.",
                                  "use 0.02.")


class RewardHackingMonitor:
    """Warns when, over recent iterations, the PRM score rises while success falls.

    At each :meth:`update` the window is the latest ``window`` iterations (all of them while
    fewer have been recorded, from the second on). It warns when both hold:

    * ``latest score - score at the window's first iteration >= min_reward_rise``;
    * ``best success within the window - latest success >= min_success_drop``.

    The best success, not the first, is compared so that a rise then a fall inside the window
    still counts. A warning is returned, logged (``logging.warning``) and raised as a
    :class:`RewardHackingWarning` through :func:`warnings.warn`; training goes on.

    Args:
        window: Iterations compared, the latest included.
        min_reward_rise: Smallest PRM score rise that counts.
        min_success_drop: Smallest success fall that counts.
    """

    def __init__(self, *, window: int = 3, min_reward_rise: float = 0.02,
                 min_success_drop: float = 0.02) -> None:
        self.config = RewardHackingMonitorConfig(window=window, min_reward_rise=min_reward_rise,
                                                 min_success_drop=min_success_drop)
        self.history: list[dict[str, Any]] = []
        """One dict per :meth:`update`: ``iteration``, ``prm_score``, ``success``, ``warning``
        (the message, ``""`` when none)."""

    def update(self, iteration: int, prm_score: float, success: float) -> str | None:
        """Record one iteration's mean PRM score and success rate; the warning, if any.

        Non-finite values are recorded but never trigger a warning (comparisons with nan fail).
        """
        record = {"iteration": int(iteration), "prm_score": float(prm_score),
                  "success": float(success), "warning": ""}
        self.history.append(record)
        message = self._check()
        if message is None:
            return None
        record["warning"] = message
        log.warning(message)
        warnings.warn(message, RewardHackingWarning, stacklevel=2)
        return message

    def _check(self) -> str | None:
        """The warning message when the latest window shows score up and success down."""
        c = self.config
        window = self.history[-c.window:]
        if len(window) < 2:
            return None
        first, latest = window[0], window[-1]
        best = max(r["success"] for r in window)
        rise = latest["prm_score"] - first["prm_score"]
        drop = best - latest["success"]
        if not (rise >= c.min_reward_rise - _TOLERANCE and drop >= c.min_success_drop - _TOLERANCE):
            return None
        return (
            f"Possible reward hacking at iteration {latest['iteration']}: over the last "
            f"{len(window)} iterations the PRM score rose {first['prm_score']:.4f} -> "
            f"{latest['prm_score']:.4f} (+{rise:.4f}) while success fell from its best "
            f"{best:.4f} to {latest['success']:.4f} (-{drop:.4f}). Look at recent episodes the "
            f"PRM rates highly; refit the PRM on fresh rollouts, or keep the checkpoint with the "
            f"best success."
        )

    def correlation(self) -> float:
        """Pearson r of PRM score against success over all iterations.

        ``nan`` with fewer than 3 iterations, when either series is constant, or when a value
        is not finite.
        """
        if len(self.history) < 3:
            return math.nan
        scores = np.array([r["prm_score"] for r in self.history], dtype=np.float64)
        success = np.array([r["success"] for r in self.history], dtype=np.float64)
        if not (np.isfinite(scores).all() and np.isfinite(success).all()):
            return math.nan
        ds, du = scores - scores.mean(), success - success.mean()
        denominator = math.sqrt(float((ds * ds).sum() * (du * du).sum()))
        if denominator == 0.0:
            return math.nan
        return float((ds * du).sum() / denominator)

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`history` to ``path`` (columns iteration, prm_score, success, warning)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=["iteration", "prm_score", "success",
                                                      "warning"])
            writer.writeheader()
            writer.writerows(self.history)
        return path
