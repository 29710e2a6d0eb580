"""Suites: named, fixed sets of (env, kwargs, seeds) to evaluate a policy on, and the report.

A suite YAML in ``conf/suite/`` looks like::

    name: keydoor
    description: Key-and-door mazes of two sizes, test split.
    entries:
      - name: keydoor-3x3
        env_id: agentgym/KeyDoor-v0
        kwargs: {split: test, size: 3, keys: 1}
        episodes: 20
        seed: 1000

Metrics per entry and overall (pooled over every episode): success rate (with a 95% Wilson
interval), mean return, mean steps, and the invalid-action rate (invalid steps / all steps).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgym.config import build, compose, group_options, to_container
from agentgym.errors import ConfigError, UnknownNameError
from agentgym.policies.base import Policy
from agentgym.rollout import RolloutConfig, RolloutEngine
from agentgym.types import Trajectory

__all__ = [
    "SuiteEntry",
    "Suite",
    "load_suite",
    "evaluate",
    "EntryResult",
    "EvalReport",
    "episode_metrics",
]


@dataclass(kw_only=True)
class SuiteEntry:
    """One environment setting of a suite."""

    env_id: str
    """Registered env id (``module:id`` for a user env)."""
    name: str = ""
    """Row label in the report (defaults to the env id)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Env constructor arguments, e.g. ``{split: test}``."""
    episodes: int = 20
    """Episodes to run."""
    seed: int = 0
    """First reset seed (episodes use ``seed, seed + 1, ...``) unless ``seeds`` is given."""
    seeds: list[int] | None = None
    """Explicit reset seeds (overrides ``episodes`` and ``seed``)."""

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ConfigError("suite.entries.episodes", f"must be >= 1, got {self.episodes}.")
        self.name = self.name or self.env_id

    def seed_list(self) -> list[int]:
        """The reset seeds of this entry."""
        return list(self.seeds) if self.seeds else list(range(self.seed, self.seed + self.episodes))


@dataclass(kw_only=True)
class Suite:
    """A named list of entries."""

    name: str
    description: str = ""
    entries: list[SuiteEntry] = field(default_factory=list)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Suite:
        """Build from a ``suite`` config section, checking every field."""
        values = dict(to_container(section) or {})
        raw_entries = values.pop("entries", None)
        if not raw_entries:
            raise ConfigError("suite.entries", "a suite needs at least one entry.")
        values.setdefault("name", "suite")
        suite = build(cls, values, "suite")
        suite.entries = [
            build(SuiteEntry, e, f"suite.entries[{i}]") for i, e in enumerate(raw_entries)
        ]
        return suite

    @classmethod
    def single(cls, env_id: str, *, kwargs: Mapping[str, Any] | None = None, episodes: int = 20,
               seed: int = 0) -> Suite:
        """A one-entry suite (what ``agentgym eval env.id=...`` runs)."""
        entry = SuiteEntry(env_id=env_id, kwargs=dict(kwargs or {}), episodes=episodes, seed=seed)
        return cls(name=env_id.rpartition(":")[2].replace("/", "-"), entries=[entry])


def load_suite(name_or_path: str) -> Suite:
    """A suite from ``conf/suite/<name>.yaml`` or from a YAML file path."""
    from omegaconf import OmegaConf

    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return Suite.from_config(OmegaConf.load(path))
    options = group_options("suite")
    if name_or_path not in options:
        raise UnknownNameError("suite", name_or_path, options, fix="Or give a path to a YAML file.")
    return Suite.from_config(compose("eval", [f"suite={name_or_path}"]).suite)


def _wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def episode_metrics(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """Success rate (and 95% interval), mean return, mean steps and invalid-action rate."""
    n = len(trajectories)
    steps = sum(len(t) for t in trajectories)
    wins = sum(t.success for t in trajectories)
    low, high = _wilson(wins, n)
    return {
        "episodes": n,
        "success_rate": wins / n if n else 0.0,
        "success_low": low,
        "success_high": high,
        "mean_return": sum(t.total_reward for t in trajectories) / n if n else 0.0,
        "mean_steps": steps / n if n else 0.0,
        "invalid_action_rate": sum(t.invalid_actions for t in trajectories) / steps if steps else 0.0,
    }


@dataclass(kw_only=True)
class EntryResult:
    """Metrics of one suite entry."""

    name: str
    env_id: str
    kwargs: dict[str, Any]
    metrics: dict[str, float]


@dataclass(kw_only=True)
class EvalReport:
    """Results of one policy on one suite."""

    suite: str
    policy: str
    entries: list[EntryResult]
    overall: dict[str, float]
    trajectories: dict[str, list[Trajectory]] = field(default_factory=dict, repr=False)

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows (one per entry, then ``overall``) for CSV and tables."""
        rows = [{"policy": self.policy, "entry": e.name, **e.metrics} for e in self.entries]
        rows.append({"policy": self.policy, "entry": "overall", **self.overall})
        return rows

    @classmethod
    def load(cls, directory: str | Path) -> EvalReport:
        """A report saved by :meth:`save` (its metrics; trajectories are not read back)."""
        data = json.loads((Path(directory) / "results.json").read_text())
        return cls(suite=data["suite"], policy=data["policy"],
                   entries=[EntryResult(**e) for e in data["entries"]], overall=data["overall"])

    def save(self, directory: str | Path, *, trajectories: bool = True) -> dict[str, Path]:
        """Write ``results.json``, ``results.csv`` and (optionally) trajectories as JSONL."""
        from agentgym.storage import save_trajectories

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "results.json", "csv": out / "results.csv"}
        payload = {
            "suite": self.suite,
            "policy": self.policy,
            "entries": [asdict(e) for e in self.entries],
            "overall": self.overall,
        }
        paths["json"].write_text(json.dumps(payload, indent=2) + "\n")
        write_csv(self.rows(), paths["csv"])
        if trajectories:
            for name, trajs in self.trajectories.items():
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
                paths[f"trajectories/{name}"] = out / "trajectories" / f"{safe}.jsonl"
                paths[f"trajectories/{name}"].parent.mkdir(exist_ok=True)
                save_trajectories(trajs, paths[f"trajectories/{name}"])
        return paths


def write_csv(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Rows of dicts to CSV, columns in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def evaluate(
    policy: Policy,
    suite: Suite,
    *,
    policy_name: str = "",
    rollout: RolloutConfig | None = None,
) -> EvalReport:
    """Run ``policy`` on every entry of ``suite`` and gather the metrics."""
    rollout = rollout or RolloutConfig()
    results, all_trajs, by_entry = [], [], {}
    for entry in suite.entries:
        with RolloutEngine(entry.env_id, env_kwargs=entry.kwargs, config=rollout) as engine:
            trajs = engine.run(policy, seeds=entry.seed_list(), desc=entry.name)
        results.append(
            EntryResult(
                name=entry.name,
                env_id=entry.env_id,
                kwargs=entry.kwargs,
                metrics=episode_metrics(trajs),
            )
        )
        by_entry[entry.name] = trajs
        all_trajs += trajs
    return EvalReport(
        suite=suite.name,
        policy=policy_name or type(policy).__name__,
        entries=results,
        overall=episode_metrics(all_trajs),
        trajectories=by_entry,
    )
