"""A policy served by Ray actors: inference replicas on other CPUs, GPUs or nodes.

:class:`RayPolicy` builds the same policy section (``hf``, ``vllm``, ...) in ``replicas`` Ray
actors, each with the CPUs and GPUs it asks for, and splits every batch among them in
contiguous chunks (answers come back in input order). Between training iterations
:meth:`RayPolicy.sync_weights` puts the trainer's new weights in every replica: a state dict goes
into Ray's object store once and each replica loads it in place; a checkpoint folder (on storage
every node sees) is loaded by each replica from disk. The inner policy must have
``load_weights(source)`` (:class:`~agentgym.policies.hf.HFPolicy` has).

Greedy decoding gives the same actions as the inner policy in this process; with sampling,
each replica draws from its own stream (``seed + replica index``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError
from agentgym.types import ActionOutput, AgentInput

__all__ = ["RayPolicy", "RayPolicyConfig"]


@dataclass(kw_only=True)
class RayPolicyConfig:
    """Config of :class:`RayPolicy`."""

    policy: dict[str, Any] = field(default_factory=dict)
    """The policy each replica serves: any policy section (``{name: hf, path: ...}``)."""
    replicas: int = 1
    """Ray actors serving it; a batch is split among them."""
    num_cpus: float = 1.0
    """CPUs Ray reserves per replica."""
    num_gpus: float = 0.0
    """GPUs Ray reserves per replica (fractions share a GPU)."""
    address: str | None = None
    """Ray cluster to join (``auto``, ``ray://head:10001``); null: a local Ray unless running."""

    def __post_init__(self) -> None:
        if not isinstance(self.policy, Mapping) or not self.policy.get("name"):
            raise ConfigError("policy.policy", "must be a policy section with a name.",
                              "e.g. policy.policy={name: hf, path: <checkpoint>}.")
        if self.policy.get("name") == "ray":
            raise ConfigError("policy.policy.name", "a Ray policy cannot serve another one.",
                              "use the model's own policy (hf, vllm, ...).")
        for name, value, low in (("replicas", self.replicas, 1), ("num_cpus", self.num_cpus, 0),
                                 ("num_gpus", self.num_gpus, 0)):
            if value < low:
                raise ConfigError(f"policy.{name}", f"must be >= {low}, got {value}.")


class _Replica:
    """The actor: one policy built from its section."""

    def __init__(self, section: dict[str, Any], seed_offset: int) -> None:
        from agentgym.policies.registry import make_policy

        if "seed" in section:
            section = {**section, "seed": int(section["seed"]) + seed_offset}
        self.policy = make_policy(section)

    def act(self, batch: list[AgentInput]) -> list[ActionOutput]:
        return self.policy.act(batch)

    def load_weights(self, source: Any) -> float:
        started = time.perf_counter()
        self.policy.load_weights(source)
        return time.perf_counter() - started

    def reseed(self, seed: int) -> None:
        self.policy.reseed(seed)


class RayPolicy:
    """A policy served by ``replicas`` Ray actors (see the module docstring).

    Args:
        policy: The section each replica builds.
        replicas: Number of actors.
        num_cpus: CPUs per actor.
        num_gpus: GPUs per actor.
        address: Ray cluster to join; None starts a local Ray unless one is running.
    """

    def __init__(self, *, policy: Mapping[str, Any], replicas: int = 1, num_cpus: float = 1.0,
                 num_gpus: float = 0.0, address: str | None = None) -> None:
        from agentgym.ray_envs import init_ray

        self.config = RayPolicyConfig(policy=dict(policy), replicas=replicas,
                                      num_cpus=num_cpus, num_gpus=num_gpus, address=address)
        init_ray(address=address)
        import ray

        self._ray = ray
        actor = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(_Replica)
        self._replicas = [actor.remote(dict(policy), k) for k in range(replicas)]
        self.last_sync: dict[str, float] = {}  #: timings of the last sync_weights
        #: The checkpoint folder the replicas' weights came from (None after a state dict).
        self.weights_from: str | None = policy.get("path")

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        """Each replica acts on a contiguous chunk; the answers come back in input order."""
        if not batch:
            return []
        n = len(self._replicas)
        size = -(-len(batch) // n)
        chunks = [list(batch[i:i + size]) for i in range(0, len(batch), size)]
        futures = [r.act.remote(chunk) for r, chunk in zip(self._replicas, chunks)]
        return [out for part in self._ray.get(futures) for out in part]

    def sync_weights(self, source: str | Path | Mapping[str, Any]) -> dict[str, float]:
        """Load new weights in every replica: a state dict (sent once through the object store)
        or a checkpoint folder every replica can read. Returns timings in seconds: ``put`` (into
        the object store), ``load_max`` (the slowest replica's load) and ``total``."""
        started = time.perf_counter()
        if isinstance(source, (str, Path)):
            ref: Any = str(source)
            self.weights_from = ref
        else:
            ref, self.weights_from = self._ray.put(dict(source)), None
        put = time.perf_counter() - started
        loads = self._ray.get([r.load_weights.remote(ref) for r in self._replicas])
        self.last_sync = {"put": put, "load_max": max(loads),
                          "total": time.perf_counter() - started}
        return dict(self.last_sync)

    def reseed(self, seed: int) -> None:
        """Reseed replica ``k`` with ``seed + k``."""
        self._ray.get([r.reseed.remote(seed + k) for k, r in enumerate(self._replicas)])

    def close(self) -> None:
        """End the replicas (Ray keeps running)."""
        for replica in self._replicas:
            self._ray.kill(replica)
        self._replicas = []
