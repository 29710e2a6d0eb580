"""RewardHackingMonitor: warns when the PRM score rises while success falls, and only then."""

from __future__ import annotations

import csv
import logging
import math
import warnings

import pytest

from agentgym.errors import ConfigError
from agentgym.rewards.monitor import RewardHackingMonitor, RewardHackingWarning


def _feed(monitor: RewardHackingMonitor, pairs: list[tuple[float, float]]) -> list[str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RewardHackingWarning)
        return [monitor.update(i, score, success) for i, (score, success) in enumerate(pairs)]


def test_warns_when_score_rises_and_success_falls(caplog):
    # AgentPRM's case: success 0.82 -> 0.70 while the PRM's reward climbs.
    monitor = RewardHackingMonitor(window=3)
    _feed(monitor, [(0.50, 0.80), (0.55, 0.82)])
    with caplog.at_level(logging.WARNING, logger="agentgym.rewards.monitor"):
        with pytest.warns(RewardHackingWarning, match="iteration 2"):
            message = monitor.update(2, 0.60, 0.70)
    assert message is not None and "reward hacking" in message
    assert "0.8200" in message and "0.7000" in message  # best success of the window, latest
    assert any(message == r.getMessage() for r in caplog.records)
    assert monitor.history[-1]["warning"] == message
    assert [r["warning"] == "" for r in monitor.history] == [True, True, False]


@pytest.mark.parametrize("pairs", [
    [(0.50, 0.60), (0.55, 0.65), (0.60, 0.70), (0.65, 0.75)],   # both up
    [(0.65, 0.80), (0.60, 0.75), (0.55, 0.70), (0.50, 0.65)],   # both down
    [(0.50, 0.70)] * 5,                                         # flat
    [(0.50, 0.80), (0.51, 0.70), (0.515, 0.60)],                # score rise below threshold
    [(0.50, 0.80), (0.60, 0.79), (0.70, 0.785)],                # success drop below threshold
], ids=["both-up", "both-down", "flat", "small-rise", "small-drop"])
def test_no_warning_unless_they_part_ways(pairs):
    monitor = RewardHackingMonitor(window=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RewardHackingWarning)
        assert [monitor.update(i, s, u) for i, (s, u) in enumerate(pairs)] == [None] * len(pairs)
    assert all(r["warning"] == "" for r in monitor.history)


def test_window_start_and_best_success_are_what_is_compared():
    # The score rose 0.10 since the window's first iteration; success peaked mid-window.
    monitor = RewardHackingMonitor(window=3, min_reward_rise=0.1, min_success_drop=0.1)
    assert _feed(monitor, [(0.5, 0.5), (0.55, 0.9), (0.6, 0.8)])[-1] is not None
    # Exactly at the thresholds counts (0.72 - 0.70 is 0.0199999... in floating point).
    monitor = RewardHackingMonitor(window=2, min_reward_rise=0.02, min_success_drop=0.02)
    assert _feed(monitor, [(0.70, 0.72), (0.72, 0.70)])[-1] is not None
    # An old peak that has left the window is not compared.
    monitor = RewardHackingMonitor(window=2)
    assert _feed(monitor, [(0.1, 0.9), (0.1, 0.5), (0.2, 0.5)]) == [None, None, None]


def test_correlation_matches_hand_computed_pearson():
    monitor = RewardHackingMonitor()
    assert math.isnan(monitor.correlation())
    _feed(monitor, [(1.0, 2.0), (2.0, 4.0)])
    assert math.isnan(monitor.correlation())  # fewer than 3 points
    _feed(monitor, [(3.0, 5.0)])
    # x = 1, 2, 3 (mean 2), y = 2, 4, 5 (mean 11/3): dx = -1, 0, 1; dy = -5/3, 1/3, 4/3.
    # sum dx*dy = 3; sum dx^2 = 2; sum dy^2 = 42/9.  r = 3 / sqrt(2 * 42/9) = 0.98198...
    assert monitor.correlation() == pytest.approx(3 / math.sqrt(2 * 42 / 9), abs=1e-12)
    flat = RewardHackingMonitor()
    _feed(flat, [(1.0, 0.5), (2.0, 0.5), (3.0, 0.5)])
    assert math.isnan(flat.correlation())


def test_to_csv_writes_the_history(tmp_path):
    monitor = RewardHackingMonitor(window=2)
    _feed(monitor, [(0.5, 0.8), (0.6, 0.7), (0.7, 0.75)])
    path = monitor.to_csv(tmp_path / "logs" / "monitor.csv")
    rows = list(csv.DictReader(path.open()))
    assert [r["iteration"] for r in rows] == ["0", "1", "2"]
    assert [float(r["prm_score"]) for r in rows] == [0.5, 0.6, 0.7]
    assert [float(r["success"]) for r in rows] == [0.8, 0.7, 0.75]
    assert rows[0]["warning"] == "" and "reward hacking" in rows[1]["warning"]
    assert rows[2]["warning"] == ""


@pytest.mark.parametrize("kwargs, field", [
    ({"window": 1}, "monitor.window"),
    ({"min_reward_rise": 0.0}, "monitor.min_reward_rise"),
    ({"min_success_drop": -0.1}, "monitor.min_success_drop"),
    ({"min_success_drop": float("nan")}, "monitor.min_success_drop"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field) as info:
        RewardHackingMonitor(**kwargs)
    assert info.value.field == field
