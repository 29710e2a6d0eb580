"""An env whose engine dies mid-episode (``EnvCrashedError``: a crashed browser, a killed game
process) loses only that episode's progress: the rollout engine runs it again from its seed, in
process and in subprocess workers, and gives up with a clear error when it keeps dying."""

from __future__ import annotations

import pickle

import pytest

import crashenv_fixture
from agentgym.errors import WorkerError
from agentgym.policies.base import OraclePolicy
from agentgym.rollout import RolloutConfig, rollout
from agentgym.workers import LOST

FLAKY = f"crashenv_fixture:{crashenv_fixture.ENV_ID}"


def _key(traj) -> tuple:
    return (traj.seed, traj.group, traj.success, traj.total_reward,
            tuple((s.observation["text"], s.action, s.reward) for s in traj.steps))


def test_lost_stays_the_same_object_through_pickling() -> None:
    assert pickle.loads(pickle.dumps(LOST)) is LOST
    assert pickle.loads(pickle.dumps([LOST, 1]))[0] is LOST


@pytest.mark.parametrize("workers", [0, 2])
def test_an_episode_whose_engine_died_starts_over_and_comes_back_once(tmp_path, workers) -> None:
    config = RolloutConfig(num_envs=3, workers=workers, progress=False)
    clean = rollout(FLAKY, OraclePolicy(), episodes=6, seed=0, config=config)
    marker = tmp_path / "crash"
    marker.touch()
    crashed = rollout(FLAKY, OraclePolicy(), episodes=6, seed=0, config=config,
                      env_kwargs={"crash_file": str(marker)})
    assert not marker.exists()  # one step raised EnvCrashedError ...
    assert [_key(t) for t in crashed] == [_key(t) for t in clean]  # ... and nothing shows it
    assert len(crashed) == 6 and all(t.success for t in crashed)


def test_an_engine_that_keeps_dying_stops_the_rollout_with_the_fix() -> None:
    config = RolloutConfig(num_envs=2, progress=False, max_episode_restarts=2)
    with pytest.raises(WorkerError, match=r"lost 3 times.*max_episode_restarts"):
        rollout(FLAKY, OraclePolicy(), episodes=2, seed=0, config=config,
                env_kwargs={"always": True})
