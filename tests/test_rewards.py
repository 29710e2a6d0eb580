"""Step rewarders: the env's outcome, weighted composites, and storing named terms on steps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agentgym.errors import ConfigError
from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.rewards.base import Composite, OutcomeReward, StepRewarder, apply_rewarders
from agentgym.rollout import RolloutConfig, rollout
from agentgym.types import Step, Trajectory


def _traj(rewards: Sequence[float], *, success: bool, valid: Sequence[bool] = ()) -> Trajectory:
    valid = list(valid) or [True] * len(rewards)
    steps = [
        Step(
            observation={"text": f"obs {i}"},
            raw_output="a",
            action="a",
            reward=r,
            terminated=success and i == len(rewards) - 1,
            truncated=not success and i == len(rewards) - 1,
            info={"valid_action": v, "won": success and i == len(rewards) - 1},
        )
        for i, (r, v) in enumerate(zip(rewards, valid))
    ]
    return Trajectory(
        env_id="test/Env-v0", task={}, seed=0, steps=steps, success=success,
        total_reward=float(sum(rewards)),
    )


def _batch() -> list[Trajectory]:
    """A won episode with one invalid action, and a lost one."""
    return [
        _traj([0.0, 0.1, 1.0], success=True, valid=[True, False, True]),
        _traj([0.1, 0.0], success=False),
    ]


class Validity:
    """+1 for a valid action, -1 for an invalid one (returns plain lists on purpose)."""

    name = "valid"

    def score(self, trajectories: Sequence[Trajectory]) -> list[list[float]]:
        return [[1.0 if s.valid else -1.0 for s in t.steps] for t in trajectories]


class Constant:
    """The same value on every step."""

    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        return [np.full(len(t.steps), self.value) for t in trajectories]


class Broken:
    """Returns one value too many per trajectory, or one array too few."""

    name = "broken"

    def __init__(self, *, missing_array: bool = False) -> None:
        self.missing_array = missing_array

    def score(self, trajectories: Sequence[Trajectory]) -> list[np.ndarray]:
        if self.missing_array:
            return [np.zeros(len(t.steps)) for t in trajectories[1:]]
        return [np.zeros(len(t.steps) + 1) for t in trajectories]


def _close(values: list[np.ndarray], expected: list[list[float]]) -> bool:
    return len(values) == len(expected) and all(
        np.allclose(v, e, atol=1e-12) and v.shape == (len(e),) for v, e in zip(values, expected)
    )


def test_rewarders_satisfy_the_protocol() -> None:
    for r in (OutcomeReward(), Composite([OutcomeReward()]), Validity(), Constant("c", 1.0)):
        assert isinstance(r, StepRewarder)


# -- OutcomeReward ----------------------------------------------------------------------------


def test_outcome_env_mode_keeps_the_env_rewards() -> None:
    batch = _batch() + [_traj([], success=False)]
    assert _close(OutcomeReward().score(batch), [[0.0, 0.1, 1.0], [0.1, 0.0], []])


def test_outcome_sparse_mode_pays_one_at_the_end_of_a_win() -> None:
    batch = _batch() + [_traj([], success=True), _traj([0.5], success=True)]
    expected = [[0.0, 0.0, 1.0], [0.0, 0.0], [], [1.0]]
    assert _close(OutcomeReward(mode="sparse").score(batch), expected)


def test_outcome_rejects_an_unknown_mode() -> None:
    with pytest.raises(ConfigError) as err:
        OutcomeReward(mode="dense")
    assert err.value.field == "reward.mode" and "'dense'" in str(err.value)


# -- Composite --------------------------------------------------------------------------------


def test_composite_is_the_weighted_sum() -> None:
    composite = Composite([OutcomeReward(), Validity()], weights={"outcome": 2.0, "valid": 0.5})
    # outcome [0, .1, 1] / [.1, 0]; valid [1, -1, 1] / [1, 1]
    assert _close(composite.score(_batch()), [[0.5, -0.3, 2.5], [0.7, 0.5]])


def test_composite_weighs_unnamed_parts_one() -> None:
    composite = Composite([OutcomeReward(), Validity()], weights={"valid": 3.0})
    assert composite.weights == {"outcome": 1.0, "valid": 3.0}
    assert _close(composite.score(_batch()), [[3.0, -2.9, 4.0], [3.1, 3.0]])


def test_apply_rewarders_keeps_every_term_and_the_total_on_the_steps() -> None:
    batch = _batch()
    composite = Composite(
        [OutcomeReward(), Validity(), Constant("step_cost", -0.01)],
        weights={"outcome": 2.0, "valid": 0.5, "step_cost": 10.0},
        name="shaped",
    )
    assert apply_rewarders(batch, [composite]) == batch
    # Hand-computed: 2 * outcome + 0.5 * valid + 10 * (-0.01).
    expected = [
        [(0.0, 1.0, 0.4), (0.1, -1.0, -0.4), (1.0, 1.0, 2.4)],
        [(0.1, 1.0, 0.6), (0.0, 1.0, 0.4)],
    ]
    for traj, rows in zip(batch, expected):
        for step, (outcome, valid, total) in zip(traj.steps, rows):
            assert set(step.rewards) == {"outcome", "valid", "step_cost", "shaped"}
            assert step.rewards["outcome"] == pytest.approx(outcome)
            assert step.rewards["valid"] == valid
            assert step.rewards["step_cost"] == -0.01
            assert step.rewards["shaped"] == pytest.approx(total)
            weighted = sum(composite.weights[n] * step.rewards[n] for n in composite.weights)
            assert step.rewards["shaped"] == pytest.approx(weighted)


def test_apply_rewarders_with_plain_rewarders_stores_each_under_its_name() -> None:
    batch = apply_rewarders(_batch(), [OutcomeReward(), Validity()])
    assert [s.rewards for s in batch[1].steps] == [
        {"outcome": 0.1, "valid": 1.0},
        {"outcome": 0.0, "valid": 1.0},
    ]
    assert all(isinstance(v, float) for s in batch[0].steps for v in s.rewards.values())


def test_zscore_standardises_each_term_over_the_batch() -> None:
    composite = Composite(
        [OutcomeReward(), Constant("flat", 5.0)], weights={"outcome": 2.0}, normalize="zscore"
    )
    terms = composite.terms(_batch())
    # outcome over all five steps: [0, .1, 1, .1, 0], mean .24, variance .1464 (population).
    std = np.sqrt(0.1464)
    expected = [[(x - 0.24) / std for x in (0.0, 0.1, 1.0)], [(x - 0.24) / std for x in (0.1, 0.0)]]
    assert all(np.allclose(v, e, atol=1e-6) for v, e in zip(terms["outcome"], expected))
    flat = np.concatenate(terms["outcome"])
    assert flat.mean() == pytest.approx(0.0, abs=1e-9)
    assert flat.std() == pytest.approx(1.0, abs=1e-6)
    assert _close(terms["flat"], [[0.0, 0.0, 0.0], [0.0, 0.0]])  # a constant term: zero, not NaN
    total = composite.score(_batch())  # "flat" is zero after zscore, so only 2 * outcome
    assert all(np.allclose(t, 2.0 * np.asarray(e), atol=1e-6) for t, e in zip(total, expected))


def test_zscore_leaves_a_single_step_alone() -> None:
    composite = Composite([OutcomeReward()], normalize="zscore")
    assert _close(composite.score([_traj([0.7], success=True)]), [[0.7]])


def test_composite_rejects_unknown_weight_names() -> None:
    with pytest.raises(ConfigError) as err:
        Composite([OutcomeReward(), Validity()], weights={"outcome": 1.0, "agentprm": 0.5})
    assert err.value.field == "reward.weights"
    assert "'agentprm'" in str(err.value) and "'outcome', 'valid'" in str(err.value)


def test_composite_rejects_duplicate_names() -> None:
    with pytest.raises(ConfigError) as err:
        Composite([OutcomeReward(), OutcomeReward(mode="sparse")])
    assert err.value.field == "reward.rewarders"
    assert "unique" in str(err.value)


def test_composite_rejects_an_unknown_normalisation() -> None:
    with pytest.raises(ConfigError) as err:
        Composite([OutcomeReward()], normalize="minmax")
    assert err.value.field == "reward.normalize" and "'minmax'" in str(err.value)


@pytest.mark.parametrize("missing_array", [False, True])
def test_a_rewarder_of_the_wrong_shape_is_named(missing_array: bool) -> None:
    broken = Broken(missing_array=missing_array)
    with pytest.raises(ValueError, match="Rewarder 'broken'"):
        apply_rewarders(_batch(), [broken])
    with pytest.raises(ValueError, match="Rewarder 'broken'"):
        Composite([OutcomeReward(), broken]).score(_batch())


def test_wrong_shape_message_says_what_was_expected() -> None:
    with pytest.raises(ValueError) as err:
        apply_rewarders(_batch(), [Broken()])
    assert "shape (4,)" in str(err.value) and "trajectory 0 of 3 steps" in str(err.value)


# -- on real rollouts -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keydoor_trajectories() -> list[Trajectory]:
    config = RolloutConfig(num_envs=4, progress=False, max_episode_steps=30)
    trajs = rollout("agentgym/KeyDoor-v0", OraclePolicy(), episodes=4, config=config)
    trajs += rollout("agentgym/KeyDoor-v0", RandomPolicy(seed=0), episodes=4, config=config)
    return trajs


def test_apply_rewarders_on_keydoor_rollouts(keydoor_trajectories: list[Trajectory]) -> None:
    trajs = keydoor_trajectories
    assert {t.success for t in trajs} == {True, False}
    composite = Composite([OutcomeReward(), Validity()], weights={"valid": 0.25})
    apply_rewarders(trajs, [composite])
    for t in trajs:
        for s in t.steps:
            assert s.rewards["outcome"] == s.reward
            assert s.rewards["outcome"] == pytest.approx(sum(s.info["reward_terms"].values()))
            assert s.rewards["valid"] == (1.0 if s.info["valid_action"] else -1.0)
            assert s.rewards["total"] == pytest.approx(s.reward + 0.25 * s.rewards["valid"])
        assert sum(s.rewards["outcome"] for s in t.steps) == pytest.approx(t.total_reward)


def test_sparse_outcome_on_keydoor_rollouts(keydoor_trajectories: list[Trajectory]) -> None:
    scores = OutcomeReward(mode="sparse").score(keydoor_trajectories)
    for t, values in zip(keydoor_trajectories, scores):
        assert values.sum() == float(t.success)
        assert values[-1] == float(t.steps[-1].info["won"])
