"""The rollout engine on Ray actors (``rollout.backend=ray``), against a local Ray instance.

The same seeds give the same trajectories as the in-process engine; a worker killed in the
middle of a rollout is replaced and every episode comes back exactly once.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest

from agentgym.policies.base import OraclePolicy, RandomPolicy
from agentgym.rollout import RolloutConfig, RolloutEngine
from agentgym.types import ActionOutput, AgentInput, Trajectory

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ENV = "agentgym/KeyDoor-v0"
KWARGS = {"split": "valid", "size": 3, "keys": 1}


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from agentgym.ray_envs import init_ray

    scratch = tmp_path_factory.mktemp("ray")
    home = os.path.expanduser("~/.ray/auth_token")
    had_token = os.path.exists(home)
    init_ray(scratch=str(scratch), num_cpus=4)
    yield
    import ray

    ray.shutdown()
    assert any(scratch.iterdir())  # Ray's session files went to the scratch folder ...
    assert os.path.exists(home) == had_token  # ... and no token to the home folder


def _key(traj: Trajectory) -> tuple:
    return (traj.seed, traj.group, traj.success, traj.total_reward,
            tuple((s.observation["text"], s.action, s.reward, s.terminated, s.truncated)
                  for s in traj.steps))


def _run(config: RolloutConfig, policy, episodes: int = 12) -> list[Trajectory]:
    with RolloutEngine(ENV, env_kwargs=KWARGS, config=config) as engine:
        return engine.run(policy, episodes=episodes, seed=100, group_size=2)


@pytest.mark.parametrize("make_policy", [lambda: OraclePolicy(), lambda: RandomPolicy(seed=3)])
def test_ray_rollouts_equal_in_process_ones(make_policy) -> None:
    local = _run(RolloutConfig(num_envs=6, progress=False), make_policy())
    remote = _run(RolloutConfig(num_envs=6, workers=2, backend="ray", progress=False),
                  make_policy())
    assert [_key(t) for t in remote] == [_key(t) for t in local]
    assert len(remote) == 24 and any(len(t.steps) > 3 for t in remote)


class _KillOnce:
    """The oracle, which kills one Ray env worker (SIGKILL) before its ``at``-th batch."""

    def __init__(self, engine: RolloutEngine, at: int) -> None:
        self.engine, self.at, self.calls, self.inner = engine, at, 0, OraclePolicy()

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        self.calls += 1
        if self.calls == self.at:
            os.kill(self.engine.slots.pids()[0], signal.SIGKILL)
        return self.inner.act(batch)


def test_a_killed_worker_is_replaced_and_every_episode_comes_back_once() -> None:
    config = RolloutConfig(num_envs=4, workers=2, backend="ray", progress=False)
    with RolloutEngine(ENV, env_kwargs=KWARGS, config=config) as engine:
        first = engine.slots.pids()[0]
        policy = _KillOnce(engine, at=5)
        trajs = engine.run(policy, episodes=10, seed=100)
        assert engine.slots.restarts == 1 and engine.slots.pids()[0] != first
    local = _run(RolloutConfig(num_envs=4, progress=False), OraclePolicy(), episodes=10)
    seeds = Counter(t.seed for t in trajs)
    assert seeds == Counter(range(100, 110))  # each episode exactly once
    # the interrupted episodes started over from their seeds: same as in-process
    expected = {t.seed: _key(t) for t in _run(RolloutConfig(num_envs=4, progress=False),
                                              OraclePolicy(), episodes=10)}
    assert {t.seed: _key(t) for t in trajs} == expected == {t.seed: _key(t) for t in local}
    assert all(t.success for t in trajs)
