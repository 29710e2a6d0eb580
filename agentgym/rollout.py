"""The rollout engine: many episodes, one policy call per step over every running env.

Episodes are *jobs* ``(seed, group)``. ``num_envs`` slots take jobs in order; each engine step
gathers the inputs of every running slot, calls ``policy.act`` once on that batch, and steps those
envs. A finished slot takes the next job. Results come back in job order, and the schedule depends
only on the seeds and the env's answers, so in-process and subprocess envs give the same
trajectories for the same seeds and policy.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tqdm.auto import tqdm

from agentgym.errors import AgentGymError, ConfigError, WorkerError
from agentgym.policies.base import Policy
from agentgym.registration import spec as env_spec
from agentgym.types import ActionOutput, AgentInput, Step, Trajectory, Turn
from agentgym.workers import LOST, EnvSlots, LocalEnvs, SubprocessEnvs

__all__ = ["RolloutConfig", "RolloutEngine", "rollout", "make_jobs"]


@dataclass(kw_only=True)
class RolloutConfig:
    """Config of :class:`RolloutEngine`."""

    num_envs: int = 8
    """Environments stepped at once (the policy's batch size)."""
    workers: int = 0
    """0 steps the envs in this process; N > 0 spreads them over N workers (subprocesses, or
    Ray actors with ``backend=ray``)."""
    max_episode_steps: int | None = None
    """Overrides the step limit registered with the env when set."""
    progress: bool = True
    """Show a progress bar over episodes."""
    backend: str = "local"
    """``local``: this machine (in-process, or ``workers`` subprocesses); ``ray``: ``workers``
    Ray actors (at least 1), on this machine or a cluster (``ray_address``); a worker that dies
    is replaced and its episodes start over."""
    ray_address: str | None = None
    """With ``backend=ray``: the cluster to join (``auto``, ``ray://head:10001``); null starts
    a local Ray (its files in a scratch folder) unless one is running."""
    ray_cpus_per_worker: float = 1.0
    """With ``backend=ray``: CPUs Ray reserves for each env worker when placing it."""
    max_episode_restarts: int = 3
    """Times one episode may start over because its worker or its env's engine (a browser, a
    game process) died mid-episode, before the rollout fails."""

    def __post_init__(self) -> None:
        if self.num_envs < 1:
            raise ConfigError("rollout.num_envs", f"must be >= 1, got {self.num_envs}.", "use 8.")
        if self.workers < 0:
            raise ConfigError(
                "rollout.workers", f"must be >= 0, got {self.workers}.", "0 runs in-process."
            )
        if self.backend not in ("local", "ray"):
            raise ConfigError("rollout.backend", f"{self.backend!r} is not a backend.",
                              "use local or ray.")
        if self.max_episode_restarts < 0:
            raise ConfigError("rollout.max_episode_restarts",
                              f"must be >= 0, got {self.max_episode_restarts}.", "use 3.")
        if self.ray_cpus_per_worker < 0:
            raise ConfigError("rollout.ray_cpus_per_worker",
                              f"must be >= 0, got {self.ray_cpus_per_worker}.", "use 1.")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ConfigError(
                "rollout.max_episode_steps", f"must be >= 1, got {self.max_episode_steps}."
            )


def make_jobs(seeds: Sequence[int], group_size: int = 1) -> list[tuple[int, int]]:
    """``(seed, group)`` for each episode: ``group_size`` episodes per seed, grouped by seed index."""
    if group_size < 1:
        raise ConfigError("group_size", f"must be >= 1, got {group_size}.")
    return [(int(seed), g) for g, seed in enumerate(seeds) for _ in range(group_size)]


@dataclass
class _Job:
    """One episode to run: reset with ``seed``, or continue ``start = (trajectory, step)``."""

    seed: int
    group: int
    start: tuple[Trajectory, int] | None = None


@dataclass
class _Prefix:
    """The replayed start of a branch: the env's snapshot there (``None`` where the env takes
    none) and the steps that led there."""

    snapshot: Any
    steps: list[Step]


@dataclass
class _Running:
    """A slot's episode in progress."""

    job: int
    traj: Trajectory
    obs: dict[str, Any]
    info: dict[str, Any]
    history: list[Turn] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)  # declared at reset


class RolloutEngine:
    """Runs a policy in ``num_envs`` copies of one environment.

    Args:
        env_id: Registered id (``module:id`` imports a user module first).
        env_kwargs: Constructor keyword arguments (e.g. ``{"split": "test"}``).
        config: Batch size, worker mode and step limit.

    Example:
        >>> engine = RolloutEngine("agentgym/KeyDoor-v0", config=RolloutConfig(num_envs=4))
        >>> trajs = engine.run(OraclePolicy(), seeds=range(8))
        >>> engine.close()
    """

    def __init__(
        self,
        env_id: str,
        *,
        env_kwargs: dict[str, Any] | None = None,
        config: RolloutConfig | None = None,
    ) -> None:
        self.config = config or RolloutConfig()
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.spec = env_spec(env_id)
        self.slots = self._make_slots()
        self._prefixes: dict[int, _Prefix] = {}

    def _make_slots(self) -> EnvSlots:
        c = self.config
        if c.backend == "ray":
            from agentgym.ray_envs import RayEnvs

            return RayEnvs(self.spec, self.env_kwargs, c.num_envs, workers=max(1, c.workers),
                           max_episode_steps=c.max_episode_steps, address=c.ray_address,
                           cpus_per_worker=c.ray_cpus_per_worker)
        if c.workers == 0:
            return LocalEnvs(
                self.spec, self.env_kwargs, c.num_envs, max_episode_steps=c.max_episode_steps
            )
        return SubprocessEnvs(
            self.spec,
            self.env_kwargs,
            c.num_envs,
            workers=c.workers,
            max_episode_steps=c.max_episode_steps,
        )

    def __enter__(self) -> RolloutEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the environments (and worker processes)."""
        self.slots.close()

    def run(
        self,
        policy: Policy,
        *,
        seeds: Sequence[int] | None = None,
        episodes: int | None = None,
        seed: int = 0,
        group_size: int = 1,
        desc: str | None = None,
    ) -> list[Trajectory]:
        """Roll out episodes and return their trajectories in job order.

        Args:
            policy: The policy to act.
            seeds: Reset seeds, one per group; or leave out and give ``episodes``.
            episodes: Number of groups, seeded ``seed, seed + 1, ...``.
            seed: First seed when ``episodes`` is given.
            group_size: Episodes per seed (same start) for group baselines and MC targets.
            desc: Label of the progress bar.
        """
        if seeds is None:
            if episodes is None:
                raise ConfigError("episodes", "give either seeds or episodes.", "e.g. episodes=10.")
            seeds = range(seed, seed + episodes)
        jobs = [_Job(seed, group) for seed, group in make_jobs(list(seeds), group_size)]
        return self._run(policy, jobs, desc or self.env_id)

    def run_branches(
        self,
        policy: Policy,
        starts: Sequence[tuple[Trajectory, int]],
        *,
        branches: int = 1,
        desc: str | None = None,
    ) -> list[Trajectory]:
        """Fresh rollouts of ``policy`` from given steps of earlier trajectories.

        For each ``(trajectory, i)`` in ``starts``, ``branches`` episodes start in the state the
        trajectory was in before its step ``i`` and continue with ``policy``. The env gets there
        by replaying the trajectory's first ``i`` actions from its seed once; further branches
        from the same start restore a snapshot where the env can take one
        (:class:`~agentgym.env.TextEnv`), else replay again. Each branch's trajectory begins
        with those ``i`` replayed steps (marked ``meta["prefix"] = True``) and has the start's
        index in ``starts`` as its ``group``. Replay needs a deterministic env: an observation
        that differs from the recorded one raises an error.
        """
        if branches < 1:
            raise ConfigError("branches", f"must be >= 1, got {branches}.", "use 4.")
        for traj, i in starts:
            if traj.env_id != self.env_id or not 0 <= i < len(traj.steps):
                raise ConfigError("starts", f"({traj.env_id!r}, step {i}) is not a step of a "
                                  f"{self.env_id!r} trajectory of {len(traj.steps)} steps.")
        jobs = [_Job(traj.seed, g, (traj, i)) for g, (traj, i) in enumerate(starts)
                for _ in range(branches)]
        self._prefixes: dict[int, _Prefix] = {}
        try:
            return self._run(policy, jobs, desc or f"{self.env_id} branches")
        finally:
            self._prefixes = {}

    def _run(self, policy: Policy, jobs: list[_Job], desc: str) -> list[Trajectory]:
        results: list[Trajectory | None] = [None] * len(jobs)
        running: dict[int, _Running] = {}
        pending = deque(range(len(jobs)))  # episodes whose worker died go back to the front
        self._restarts: Counter[int] = Counter()
        bar = tqdm(total=len(jobs), desc=desc, unit="ep", disable=not self.config.progress)
        try:
            self._fill(running, pending, jobs, range(self.config.num_envs))
            while running:
                freed, finished = self._advance(policy, running, results, pending)
                bar.update(finished)
                self._fill(running, pending, jobs, freed)
        finally:
            bar.close()
        return [t for t in results if t is not None]

    def _fill(self, running, pending, jobs: list[_Job], free_slots) -> None:
        todo = []
        for slot in free_slots:
            if not pending:
                break
            todo.append((slot, pending.popleft()))
        if not todo:
            return
        fresh = [(slot, job) for slot, job in todo
                 if jobs[job].start is None or jobs[job].group not in self._prefixes]
        answers = dict(zip([slot for slot, _ in fresh],
                           self.slots.reset([(slot, jobs[job].seed) for slot, job in fresh])))
        self._replay([(slot, jobs[job]) for slot, job in fresh if jobs[job].start], answers)
        cached = [(slot, jobs[job]) for slot, job in todo if slot not in answers]
        restored = self._restore(cached)
        for slot, job in todo:
            j = jobs[job]
            obs, info = answers[slot] if slot in answers else restored[slot]
            traj = Trajectory(
                env_id=self.env_id,
                task=dict(info.get("task", {})),
                seed=j.seed,
                group=j.group,
                env_kwargs=dict(self.env_kwargs),
            )
            running[slot] = _Running(job=job, traj=traj, obs=obs, info=info,
                                     tools=list(info.get("tools", ())))
            if j.start is not None:
                prefix = self._prefixes[j.group]
                traj.task = dict(j.start[0].task) or traj.task
                traj.steps = [replace(st, info=dict(st.info), meta=dict(st.meta),
                                      rewards={}) for st in prefix.steps]
                running[slot].history = [Turn(observation=st.observation["text"],
                                              action=st.action, output=st.raw_output)
                                         for st in prefix.steps]

    def _replay(self, todo: list[tuple[int, _Job]], answers: dict[int, Any]) -> None:
        """Step each slot through its job's prefix (all slots together, step by step), record
        the steps, snapshot the env there and leave the last answer in ``answers``."""
        if not todo:
            return
        recorded: dict[int, list[Step]] = {slot: [] for slot, _ in todo}
        for k in range(max(job.start[1] for _, job in todo)):
            batch = [(slot, job) for slot, job in todo if k < job.start[1]]
            steps = [job.start[0].steps[k] for _, job in batch]
            outs = self.slots.step([(slot, st.action) for (slot, _), st in zip(batch, steps)])
            if any(out is LOST for out in outs):
                raise WorkerError(f"An env worker of {self.env_id} died while replaying a branch's "
                                  "prefix; branch rollouts cannot start over on another worker. "
                                  "Fix: run them again.")
            for (slot, job), st, (obs, reward, terminated, truncated, info) in zip(
                    batch, steps, outs):
                before = answers[slot][0]
                if before["text"] != st.observation["text"]:
                    raise AgentGymError(
                        f"Replaying seed {job.seed} of {self.env_id} gave another observation "
                        f"at step {k} than the recorded trajectory; branch rollouts need a "
                        "deterministic env (same seed and actions, same observations)."
                    )
                recorded[slot].append(Step(
                    observation=before, raw_output=st.raw_output, action=st.action,
                    reward=float(reward), terminated=bool(terminated), truncated=bool(truncated),
                    info=info, meta={**st.meta, "prefix": True}))
                answers[slot] = (obs, info)
        snapshot = getattr(self.slots, "snapshot", None)
        snaps = snapshot([slot for slot, _ in todo]) if snapshot else [None] * len(todo)
        if any(snap is LOST for snap in snaps):
            raise WorkerError(f"An env worker of {self.env_id} died while replaying a branch's "
                              "prefix; branch rollouts cannot start over on another worker. "
                              "Fix: run them again.")
        for (slot, job), snap in zip(todo, snaps):
            if recorded[slot] and (recorded[slot][-1].terminated or recorded[slot][-1].truncated):
                raise AgentGymError(f"The trajectory of seed {job.seed} ended before step "
                                    f"{job.start[1]}; nothing to branch from there.")
            self._prefixes.setdefault(job.group, _Prefix(snap, recorded[slot]))

    def _restore(self, todo: list[tuple[int, _Job]]) -> dict[int, Any]:
        """Bring slots to their job's cached prefix: restore its snapshot, or reset and replay."""
        out: dict[int, Any] = {}
        with_snap = [(slot, job) for slot, job in todo
                     if self._prefixes[job.group].snapshot is not None]
        if with_snap:
            results = self.slots.restore([(slot, self._prefixes[job.group].snapshot)
                                          for slot, job in with_snap])
            out.update({slot: r for (slot, _), r in zip(with_snap, results)})
        replay = [(slot, job) for slot, job in todo if slot not in out]
        if replay:
            answers = dict(zip([slot for slot, _ in replay],
                               self.slots.reset([(slot, job.seed) for slot, job in replay])))
            saved = {job.group: self._prefixes.pop(job.group) for _, job in replay}
            self._replay(replay, answers)
            for group, prefix in saved.items():
                self._prefixes[group] = prefix
            out.update({slot: answers[slot] for slot, _ in replay})
        return out

    def _advance(self, policy: Policy, running: dict[int, _Running], results,
                 pending: deque[int]) -> tuple[list[int], int]:
        """One step of every running episode; returns the freed slots and how many episodes
        finished (an episode whose worker died frees its slot and goes back to ``pending``)."""
        slots = sorted(running)
        batch = [self._agent_input(running[s]) for s in slots]
        outputs = policy.act(batch)
        if len(outputs) != len(batch):
            raise AgentGymError(
                f"{type(policy).__name__}.act returned {len(outputs)} outputs for a batch of "
                f"{len(batch)} inputs; it must return exactly one per input."
            )
        answers = self.slots.step([(s, out.action) for s, out in zip(slots, outputs)])
        freed, lost = [], 0
        for s, out, answer in zip(slots, outputs, answers):
            if answer is LOST:  # its worker or engine died: it starts over, nothing is kept
                run = running.pop(s)
                self._restarts[run.job] += 1
                if self._restarts[run.job] > self.config.max_episode_restarts:
                    raise WorkerError(
                        f"The {self.env_id} episode of seed {run.traj.seed} was lost "
                        f"{self._restarts[run.job]} times (its worker or its env's engine died "
                        "each time). Fix: check the env's engine (browser, game) on this "
                        "machine, or raise rollout.max_episode_restarts.")
                pending.appendleft(run.job)
                freed.append(s)
                lost += 1
                continue
            obs, reward, terminated, truncated, info = answer
            run = running[s]
            run.traj.steps.append(self._step(run, out, reward, terminated, truncated, info))
            run.history.append(
                Turn(observation=run.obs["text"], action=out.action, output=out.text))
            run.obs, run.info = obs, info
            if terminated or truncated:
                run.traj.success = bool(info.get("won", False))
                run.traj.total_reward = float(sum(st.reward for st in run.traj.steps))
                run.traj.final_observation = obs
                results[run.job] = run.traj
                del running[s]
                freed.append(s)
        return freed, len(freed) - lost

    def _agent_input(self, run: _Running) -> AgentInput:
        obs = run.obs
        return AgentInput(
            env_id=self.env_id,
            goal=obs["goal"],
            observation=obs["text"],
            admissible_actions=list(obs["admissible_actions"]),
            history=list(run.history),
            last_action_error=obs["last_action_error"],
            expert_action=run.info.get("expert_action"),
            expert_thought=run.info.get("expert_thought"),
            candidate_actions=list(run.info.get("candidate_actions", ())),
            tools=run.tools,
        )

    @staticmethod
    def _step(run: _Running, out: ActionOutput, reward, terminated, truncated, info) -> Step:
        return Step(
            observation=run.obs,
            raw_output=out.text,
            action=out.action,
            reward=float(reward),
            terminated=bool(terminated),
            truncated=bool(truncated),
            info=info,
            prompt_ids=out.prompt_ids,
            action_ids=out.action_ids,
            action_logprobs=out.action_logprobs,
            meta=dict(out.meta),
        )


def rollout(
    env_id: str,
    policy: Policy,
    *,
    episodes: int = 10,
    seed: int = 0,
    group_size: int = 1,
    env_kwargs: dict[str, Any] | None = None,
    config: RolloutConfig | None = None,
) -> list[Trajectory]:
    """One-call rollout: build an engine, run ``episodes`` groups, close it."""
    with RolloutEngine(env_id, env_kwargs=env_kwargs, config=config) as engine:
        return engine.run(policy, episodes=episodes, seed=seed, group_size=group_size)
