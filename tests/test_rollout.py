"""The rollout engine: batching, scheduling, job order, groups, workers and the step records."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import pytest

import userenv_fixture
from agentgym.errors import AgentGymError, ConfigError, WorkerError
from agentgym.policies.base import OraclePolicy, Policy, RandomPolicy
from agentgym.registration import spec
from agentgym.rollout import RolloutConfig, RolloutEngine, make_jobs, rollout
from agentgym.types import ActionOutput, AgentInput, Trajectory, Turn
from agentgym.workers import LocalEnvs, SubprocessEnvs

KEYDOOR = "agentgym/KeyDoor-v0"
COUNTER = f"userenv_fixture:{userenv_fixture.ENV_ID}"


def _config(**kwargs) -> RolloutConfig:
    return RolloutConfig(progress=False, **kwargs)


def _run(env_id: str, policy: Policy, *, env_kwargs=None, **run_kwargs) -> list[Trajectory]:
    """Run with a config built from the ``num_envs``/``workers``/``max_episode_steps`` kwargs."""
    keys = ("num_envs", "workers", "max_episode_steps")
    config = _config(**{k: run_kwargs.pop(k) for k in keys if k in run_kwargs})
    with RolloutEngine(env_id, env_kwargs=env_kwargs, config=config) as engine:
        return engine.run(policy, **run_kwargs)


class Recording:
    """Wraps a policy and keeps every batch it was called with."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.batches: list[list[AgentInput]] = []

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        self.batches.append(list(batch))
        return self.inner.act(batch)


class Fixed:
    """Always the same action."""

    def __init__(self, action: str) -> None:
        self.action = action

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        return [ActionOutput(text=self.action, action=self.action) for _ in batch]


class TokenOracle:
    """The oracle's actions with token data that can be traced back to each input."""

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        return [
            ActionOutput(
                text=f"Thought: follow the map.\nAction: {inp.expert_action}",
                action=inp.expert_action,
                prompt_ids=[len(inp.history), 7],
                action_ids=[ord(c) for c in inp.expert_action],
                action_logprobs=[-0.25 * (i + 1) for i in range(len(inp.expert_action))],
            )
            for inp in batch
        ]


def _children() -> set[int]:
    """Pids of this process's child processes (Linux)."""
    pids: set[int] = set()
    for tid in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{tid}/children") as f:
            pids.update(int(p) for p in f.read().split())
    return pids


needs_proc = pytest.mark.skipif(
    not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
    reason="needs Linux /proc/<pid>/task/<tid>/children",
)


def _expected_batch_sizes(lengths: list[int], num_envs: int) -> list[int]:
    """Batch size of each engine step when episodes of these lengths fill ``num_envs`` slots."""
    queue = list(lengths)
    active = [queue.pop(0) for _ in range(min(num_envs, len(queue)))]
    sizes = []
    while active:
        sizes.append(len(active))
        left = [n - 1 for n in active]
        active = [n for n in left if n > 0]
        active += [queue.pop(0) for _ in range(min(left.count(0), len(queue)))]
    return sizes


# -- batching and scheduling ------------------------------------------------------------------


def test_policy_is_called_once_per_engine_step_with_every_running_env() -> None:
    policy = Recording(OraclePolicy())
    trajs = _run(COUNTER, policy, seeds=range(8), num_envs=3)
    lengths = [len(t) for t in trajs]
    assert len(set(lengths)) > 1  # episodes of different lengths, so slots free up unevenly
    sizes = [len(b) for b in policy.batches]
    assert sizes == _expected_batch_sizes(lengths, 3)
    assert sizes[0] == 3 and max(sizes) == 3 and sizes[-1] < 3
    assert sizes == sorted(sizes, reverse=True)  # full until the jobs run out, then shrinking
    assert sum(sizes) == sum(lengths)


def test_results_come_back_in_job_order_with_their_seeds_and_groups() -> None:
    seeds = [3, 6, 2, 1, 7]
    trajs = _run(COUNTER, OraclePolicy(), seeds=seeds, num_envs=2)
    # Seed 6's episode is shorter than seed 3's, so it finishes first; the order is still the jobs'.
    assert len(trajs[1]) < len(trajs[0])
    assert [t.seed for t in trajs] == seeds
    assert [t.group for t in trajs] == [0, 1, 2, 3, 4]
    assert all(t.env_id == COUNTER for t in trajs)


def test_episodes_and_seed_give_consecutive_seeds() -> None:
    trajs = _run(COUNTER, OraclePolicy(), episodes=3, seed=10, num_envs=2)
    assert [t.seed for t in trajs] == [10, 11, 12]


def test_group_size_gives_episodes_sharing_seed_group_task_and_start() -> None:
    trajs = _run(
        KEYDOOR, RandomPolicy(seed=0), seeds=[4, 7], group_size=3, num_envs=4, max_episode_steps=8
    )
    assert [t.seed for t in trajs] == [4, 4, 4, 7, 7, 7]
    assert [t.group for t in trajs] == [0, 0, 0, 1, 1, 1]
    for group in (trajs[:3], trajs[3:]):
        assert len({t.task["id"] for t in group}) == 1
        assert all(t.steps[0].observation == group[0].steps[0].observation for t in group)
    assert trajs[0].task["id"] != trajs[3].task["id"]
    # Same start, but the random policy takes different paths from it.
    assert len({tuple(s.action for s in t.steps) for t in trajs[:3]}) > 1


def test_make_jobs() -> None:
    assert make_jobs([3, 1], 2) == [(3, 0), (3, 0), (1, 1), (1, 1)]
    assert make_jobs(range(3)) == [(0, 0), (1, 1), (2, 2)]
    with pytest.raises(ConfigError) as err:
        make_jobs([0], 0)
    assert err.value.field == "group_size"


@pytest.mark.parametrize("workers", [0, 2])
def test_more_envs_than_episodes(workers: int) -> None:
    policy = Recording(OraclePolicy())
    trajs = _run(KEYDOOR, policy, seeds=[0, 1, 2], num_envs=8, workers=workers)
    assert [t.seed for t in trajs] == [0, 1, 2]
    assert all(t.success for t in trajs)
    assert len(policy.batches[0]) == 3


# -- in-process and subprocess envs agree -----------------------------------------------------


POLICIES: dict[str, Callable[[], Policy]] = {
    "random": lambda: RandomPolicy(seed=3),
    "oracle": OraclePolicy,
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("workers", [1, 2])
def test_subprocess_workers_give_identical_trajectories(policy: str, workers: int) -> None:
    seeds = [0, 1, 2, 3, 4]
    kwargs = dict(seeds=seeds, group_size=2, num_envs=3, max_episode_steps=20)
    local = _run(KEYDOOR, POLICIES[policy](), **kwargs)
    remote = _run(KEYDOOR, POLICIES[policy](), workers=workers, **kwargs)
    assert len(local) == len(remote) == 10
    for a, b in zip(local, remote):
        assert [s.action for s in a.steps] == [s.action for s in b.steps]
        assert [s.info for s in a.steps] == [s.info for s in b.steps]
        assert [s.reward for s in a.steps] == [s.reward for s in b.steps]
        assert (a.success, a.total_reward) == (b.success, b.total_reward)
    assert local == remote  # every field, observations and final observations included
    if policy == "oracle":
        assert all(t.success for t in local)


def test_user_env_registered_at_runtime_runs_in_subprocess_workers() -> None:
    config = _config(num_envs=3, workers=2)
    trajs = rollout(COUNTER, OraclePolicy(), episodes=5, config=config)
    assert trajs == rollout(COUNTER, OraclePolicy(), episodes=5, config=_config(num_envs=3))
    for t in trajs:
        target = int(t.task["id"].removeprefix("counter-"))
        assert t.success and len(t) == target + 1
        assert [s.action for s in t.steps] == ["increment"] * target + ["submit"]
        assert t.total_reward == pytest.approx(1.0 + userenv_fixture.STEP_REWARD * target)


def test_env_kwargs_reach_the_workers() -> None:
    config = _config(num_envs=2, workers=2)
    trajs = rollout(COUNTER, OraclePolicy(), episodes=4, env_kwargs={"high": 1}, config=config)
    assert all(t.task["id"] == "counter-1" and len(t) == 2 for t in trajs)
    assert all(t.env_kwargs == {"high": 1} for t in trajs)


# -- what gets recorded -----------------------------------------------------------------------


def test_token_data_and_raw_output_are_recorded_on_the_steps() -> None:
    trajs = _run(KEYDOOR, TokenOracle(), seeds=[0, 1], num_envs=2)
    for t in trajs:
        assert t.success
        for k, step in enumerate(t.steps):
            assert step.raw_output == f"Thought: follow the map.\nAction: {step.action}"
            assert step.prompt_ids == [k, 7]
            assert step.action_ids == [ord(c) for c in step.action]
            assert step.action_logprobs == [-0.25 * (i + 1) for i in range(len(step.action))]


def test_policies_without_token_data_leave_it_empty() -> None:
    (traj,) = _run(KEYDOOR, OraclePolicy(), seeds=[0], num_envs=1)
    assert all(s.prompt_ids is s.action_ids is s.action_logprobs is None for s in traj.steps)


@pytest.mark.parametrize("workers", [0, 1])
def test_totals_and_success_follow_the_steps(workers: int) -> None:
    trajs = _run(KEYDOOR, RandomPolicy(seed=1), seeds=range(6), num_envs=3, workers=workers)
    trajs += _run(KEYDOOR, OraclePolicy(), seeds=range(3), num_envs=3, workers=workers)
    assert {t.success for t in trajs} == {True, False}
    for t in trajs:
        assert t.total_reward == pytest.approx(sum(s.reward for s in t.steps))
        assert t.success == t.steps[-1].info["won"]
        assert t.steps[-1].terminated or t.steps[-1].truncated
        assert not any(s.terminated or s.truncated for s in t.steps[:-1])
        for s in t.steps:
            assert s.reward == pytest.approx(sum(s.info["reward_terms"].values()))


def test_agent_inputs_carry_the_episode_so_far() -> None:
    policy = Recording(RandomPolicy(seed=2))
    trajs = _run(KEYDOOR, policy, seeds=[0, 1], num_envs=1, max_episode_steps=12)
    inputs = [inp for batch in policy.batches for inp in batch]
    steps = [s for t in trajs for s in t.steps]
    assert len(inputs) == len(steps) == 24
    for t in trajs:
        episode, inputs = inputs[: len(t)], inputs[len(t) :]
        for k, (inp, step) in enumerate(zip(episode, t.steps)):
            assert inp.env_id == KEYDOOR
            assert len(inp.history) == k  # one Turn more per step
            assert inp.history == [
                Turn(observation=s.observation["text"], action=s.action, output=s.raw_output)
                for s in t.steps[:k]
            ]
            assert inp.observation == step.observation["text"]
            assert inp.goal == step.observation["goal"]
            assert inp.admissible_actions == list(step.observation["admissible_actions"])
            assert inp.last_action_error == step.observation["last_action_error"]
            if k:
                assert inp.expert_action == t.steps[k - 1].info["expert_action"]


@pytest.mark.parametrize("workers", [0, 1])
def test_max_episode_steps_override_truncates(workers: int) -> None:
    trajs = _run(
        KEYDOOR, Fixed("look"), seeds=[0, 1], num_envs=2, max_episode_steps=3, workers=workers
    )
    for t in trajs:
        assert len(t) == 3 and not t.success
        ends = [(s.terminated, s.truncated) for s in t.steps]
        assert ends == [(False, False), (False, False), (False, True)]
    # Without the override the registered limit (50) applies.
    (long,) = _run(KEYDOOR, Fixed("look"), seeds=[0], num_envs=1, workers=workers)
    assert len(long) == spec(KEYDOOR).max_episode_steps == 50


def test_bad_agent_output_is_recorded_not_raised() -> None:
    (traj,) = _run(KEYDOOR, Fixed("dance wildly"), seeds=[0], num_envs=1, max_episode_steps=2)
    assert traj.invalid_actions == 2
    assert "dance wildly" in traj.steps[1].observation["last_action_error"]


# -- errors -----------------------------------------------------------------------------------


class Miscounting:
    """Returns one output too many or too few."""

    def __init__(self, extra: int) -> None:
        self.extra = extra

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        n = len(batch) + self.extra
        return [ActionOutput(text="look", action="look") for _ in range(n)]


@pytest.mark.parametrize("extra", [-1, 1])
def test_policy_returning_the_wrong_number_of_outputs_raises(extra: int) -> None:
    with pytest.raises(AgentGymError, match=f"returned {2 + extra} outputs for a batch of 2"):
        _run(KEYDOOR, Miscounting(extra), seeds=[0, 1], num_envs=2)


@needs_proc
@pytest.mark.parametrize("workers", [1, 2])
def test_env_constructor_failing_in_a_worker_raises_worker_error(workers: int) -> None:
    before = _children()
    with pytest.raises(WorkerError) as err:
        RolloutEngine(KEYDOOR, env_kwargs={"size": 99}, config=_config(num_envs=2, workers=workers))
    text = str(err.value)
    assert "Traceback (most recent call last)" in text
    assert "Error: Config field 'env.kwargs.size': must be between 2 and 5, got 99." in text
    assert _children() == before  # the workers were shut down and reaped


def test_env_constructor_failing_in_process_raises_its_own_error() -> None:
    with pytest.raises(ConfigError, match="env.kwargs.size': must be between 2 and 5"):
        RolloutEngine(KEYDOOR, env_kwargs={"size": 99}, config=_config(num_envs=1))


def test_misspelled_env_kwarg_in_a_worker_names_the_fix() -> None:
    with pytest.raises(WorkerError) as err:
        RolloutEngine(KEYDOOR, env_kwargs={"sise": 3}, config=_config(num_envs=1, workers=1))
    assert "env.kwargs.sise" in str(err.value)
    assert "Did you mean 'size'?" in str(err.value)


@needs_proc
def test_env_error_in_a_worker_step_raises_worker_error() -> None:
    before = _children()
    envs = SubprocessEnvs(spec(KEYDOOR), {}, 2, workers=2)
    assert len(_children() - before) == 2
    with pytest.raises(WorkerError) as err:
        envs.step([(0, "look")])  # stepping before reset is a programmer error, raised by gymnasium
    assert "Traceback (most recent call last)" in str(err.value)
    assert "ResetNeeded" in str(err.value)
    assert _children() == before  # a failed worker call closes them all
    # The same mistake in-process raises gymnasium's own error.
    local = LocalEnvs(spec(KEYDOOR), {}, 1)
    with pytest.raises(Exception, match="reset"):
        local.step([(0, "look")])
    local.close()


@needs_proc
def test_a_worker_that_dies_raises_worker_error() -> None:
    before = _children()
    envs = SubprocessEnvs(spec(KEYDOOR), {}, 2, workers=2)
    envs.reset([(0, 0), (1, 1)])
    envs._procs[1].kill()
    envs._procs[1].wait()
    try:
        with pytest.raises(WorkerError, match=r"Env worker 1 died \(exit code -9\)"):
            envs.step([(0, "look"), (1, "look")])
    finally:
        envs.close()
    assert _children() == before


@needs_proc
def test_subprocess_workers_answer_in_slot_order_and_close_cleanly() -> None:
    before = _children()
    envs = SubprocessEnvs(spec(KEYDOOR), {}, 5, workers=2)
    local = LocalEnvs(spec(KEYDOOR), {}, 5)
    jobs = [(4, 40), (0, 0), (3, 30), (1, 10)]  # out of slot order, across both workers
    assert envs.reset(jobs) == local.reset(jobs)
    steps = [(1, "look"), (4, "inventory"), (0, "go north")]
    assert envs.step(steps) == local.step(steps)
    envs.close()
    local.close()
    assert _children() == before


# -- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("num_envs", 0), ("workers", -1), ("max_episode_steps", 0)]
)
def test_rollout_config_rejects_bad_values(field: str, value: int) -> None:
    with pytest.raises(ConfigError) as err:
        RolloutConfig(**{field: value})
    assert err.value.field == f"rollout.{field}"
    assert f"rollout.{field}" in str(err.value) and str(value) in str(err.value)


def test_run_needs_seeds_or_episodes() -> None:
    with RolloutEngine(KEYDOOR, config=_config(num_envs=1)) as engine:
        with pytest.raises(ConfigError) as err:
            engine.run(OraclePolicy())
    assert err.value.field == "episodes"


def test_workers_import_user_modules_before_unpickling_the_spec() -> None:
    """A spec whose entry point is a class object (not a string) pickles by reference to the
    user's module; workers must have the parent's sys.path before they unpickle it."""
    from gymnasium.envs.registration import EnvSpec

    class_spec = EnvSpec(id="agentgym_user/CounterByClass-v0",
                         entry_point=userenv_fixture.CounterEnv, max_episode_steps=20)
    envs = SubprocessEnvs(class_spec, {}, 2, workers=1)
    try:
        (obs, info), = envs.reset([(0, 3)])
        assert "expert_action" in info and obs["goal"]
    finally:
        envs.close()
