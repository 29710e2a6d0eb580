"""Saving and loading trajectories: JSON Lines for streaming, Parquet for analysis.

Two formats, chosen by the file suffix:

* ``.jsonl``: one trajectory per line, each a JSON object with a ``"schema_version"`` key.
  :func:`append_jsonl` adds trajectories to such a file while a long rollout runs.
* ``.parquet``: one row per *step*, flat, so that pandas or duckdb can query it directly. The
  trajectory-level fields (``traj_index``, ``env_id``, ``seed``, ``success``, ...) repeat on every
  row of their trajectory; dict-valued fields (``task``, ``observation``, ``info``, ...) are JSON
  strings; token data are ``list<int64>`` / ``list<float64>`` columns (null when not recorded);
  ``rewards`` is a ``map<string, double>``. A trajectory with no steps is one row whose step
  columns (``step_index`` onwards) are all null. The schema version sits in the file's key-value
  metadata under ``agentgym.schema_version``.

Both formats round-trip exactly: floats and token ids come back bit for bit, and observation
values that were sequences (``admissible_actions``) come back as tuples, as Gymnasium's sequence
spaces give them. Everything else goes through JSON, so stored dicts may hold only ``None``,
``bool``, ``int``, finite ``float``, ``str``, lists, tuples (read back as lists) and dicts with
string keys; NumPy scalars and arrays are turned into their Python equivalents. Anything else, or
a NaN or infinity, raises when saving rather than producing a file that does not read back.

Example:
    >>> save_trajectories(trajectories, "runs/eval.parquet")   # doctest: +SKIP
    >>> load_trajectories("runs/eval.parquet") == trajectories  # doctest: +SKIP
    True
"""

from __future__ import annotations

import copy
import errno
import json
import math
import operator
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agentgym.errors import SchemaError, closest
from agentgym.types import Step, Trajectory

__all__ = [
    "SCHEMA_VERSION",
    "SUFFIXES",
    "append_jsonl",
    "load_trajectories",
    "save_trajectories",
    "trajectory_from_dict",
    "trajectory_to_dict",
]

SCHEMA_VERSION = 1
"""Version of the stored trajectory layout; bump it when the layout changes."""

SUFFIXES = (".jsonl", ".parquet")
"""File suffixes :func:`save_trajectories` and :func:`load_trajectories` understand."""

METADATA_KEY = b"agentgym.schema_version"
"""Parquet key-value metadata key holding the schema version."""

_TRAJ_REQUIRED = ("env_id", "task", "seed")
_TRAJ_FIELDS = (*_TRAJ_REQUIRED, "group", "steps", "success", "total_reward",
                "final_observation", "env_kwargs")  # fmt: skip
_STEP_REQUIRED = ("observation", "raw_output", "action", "reward", "terminated", "truncated")
_STEP_FIELDS = (*_STEP_REQUIRED, "info", "prompt_ids", "action_ids", "action_logprobs", "rewards",
                "meta")  # fmt: skip

_PARQUET_SCHEMA = pa.schema(
    [
        ("traj_index", pa.int64()),
        ("env_id", pa.string()),
        ("task", pa.string()),
        ("seed", pa.int64()),
        ("group", pa.int64()),
        ("success", pa.bool_()),
        ("total_reward", pa.float64()),
        ("env_kwargs", pa.string()),
        ("final_observation", pa.string()),
        ("step_index", pa.int64()),
        ("observation", pa.string()),
        ("raw_output", pa.string()),
        ("action", pa.string()),
        ("reward", pa.float64()),
        ("terminated", pa.bool_()),
        ("truncated", pa.bool_()),
        ("info", pa.string()),
        ("prompt_ids", pa.list_(pa.int64())),
        ("action_ids", pa.list_(pa.int64())),
        ("action_logprobs", pa.list_(pa.float64())),
        ("rewards", pa.map_(pa.string(), pa.float64())),
        ("meta", pa.string()),
    ]
)
_JSON_TRAJ_COLUMNS = ("task", "env_kwargs", "final_observation")
_JSON_STEP_COLUMNS = ("observation", "info", "meta")
#: Columns added after the first schema: files written before them read back with defaults.
_LATER_COLUMNS = {"meta": "{}"}


# -- plain-dict conversion ---------------------------------------------------------------------


def _plain(value: Any, where: str) -> Any:
    """Return a deep copy of ``value`` made of JSON types only; raise on anything that is not."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"{where} is {value!r}; stored trajectories hold finite numbers only. "
                "Fix: replace NaN/infinity before saving (e.g. clamp or drop the value)."
            )
        return float(value)
    if isinstance(value, (np.generic, np.ndarray)):
        return _plain(value.tolist(), where)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{where} has the key {key!r} of type {type(key).__name__}; stored dicts "
                    f"need str keys (JSON would turn it into a string). Fix: use str({key!r})."
                )
            out[key] = _plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"{where} is a {type(value).__name__}, which cannot be stored; expected None, bool, int, "
        "float, str, list, tuple or dict. Fix: convert it to one of these before saving."
    )


def _ints(values: Sequence[Any] | None, where: str) -> list[int] | None:
    """Copy a token-id list as Python ints (None stays None)."""
    if values is None:
        return None
    try:
        return [operator.index(v) for v in values]
    except TypeError as exc:
        raise TypeError(f"{where} must be a list of integer token ids: {exc}") from None


def _floats(values: Sequence[Any] | None, where: str) -> list[float] | None:
    """Copy a log-probability list as finite Python floats (None stays None)."""
    if values is None:
        return None
    out = [float(v) for v in values]
    if not all(map(math.isfinite, out)):
        bad = next(i for i, v in enumerate(out) if not math.isfinite(v))
        raise ValueError(
            f"{where}[{bad}] is {out[bad]!r}; stored trajectories hold finite numbers only. "
            "Fix: clamp log-probabilities (e.g. to -1e4) before saving."
        )
    return out


def _step_to_dict(step: Step, where: str) -> dict[str, Any]:
    return {
        "observation": _plain(step.observation, f"{where}.observation"),
        "raw_output": _plain(step.raw_output, f"{where}.raw_output"),
        "action": _plain(step.action, f"{where}.action"),
        "reward": _plain(step.reward, f"{where}.reward"),
        "terminated": bool(step.terminated),
        "truncated": bool(step.truncated),
        "info": _plain(step.info, f"{where}.info"),
        "prompt_ids": _ints(step.prompt_ids, f"{where}.prompt_ids"),
        "action_ids": _ints(step.action_ids, f"{where}.action_ids"),
        "action_logprobs": _floats(step.action_logprobs, f"{where}.action_logprobs"),
        "rewards": _plain(step.rewards, f"{where}.rewards"),
        "meta": _plain(step.meta, f"{where}.meta"),
    }


def trajectory_to_dict(trajectory: Trajectory) -> dict[str, Any]:
    """Convert a trajectory into a plain, JSON-able dict (a deep copy; tuples become lists).

    Args:
        trajectory: The episode to convert.

    Returns:
        A dict with the :class:`~agentgym.types.Trajectory` fields; ``steps`` is a list of dicts
        with the :class:`~agentgym.types.Step` fields. :func:`trajectory_from_dict` inverts it.

    Raises:
        TypeError: A value is not storable (see the module docstring) or ``trajectory`` is not a
            :class:`~agentgym.types.Trajectory`.
        ValueError: A number is NaN or infinite.
    """
    if not isinstance(trajectory, Trajectory):
        raise TypeError(
            f"Expected an agentgym.types.Trajectory, got {type(trajectory).__name__}. "
            "Fix: pass Trajectory objects (use trajectory_from_dict to build them from dicts)."
        )
    return {
        "env_id": _plain(trajectory.env_id, "trajectory.env_id"),
        "task": _plain(trajectory.task, "trajectory.task"),
        "seed": _plain(trajectory.seed, "trajectory.seed"),
        "group": _plain(trajectory.group, "trajectory.group"),
        "steps": [
            _step_to_dict(step, f"trajectory.steps[{i}]") for i, step in enumerate(trajectory.steps)
        ],
        "success": bool(trajectory.success),
        "total_reward": _plain(trajectory.total_reward, "trajectory.total_reward"),
        "final_observation": _plain(trajectory.final_observation, "trajectory.final_observation"),
        "env_kwargs": _plain(trajectory.env_kwargs, "trajectory.env_kwargs"),
    }


def _check_keys(data: Any, required: Sequence[str], known: Sequence[str], where: str) -> None:
    """Raise :class:`SchemaError` unless ``data`` is a dict with ``required`` and only ``known``."""
    if not isinstance(data, dict):
        raise SchemaError(f"{where} should be a JSON object (dict), got {type(data).__name__}.")
    missing = [k for k in required if k not in data]
    if missing:
        raise SchemaError(
            f"{where} lacks the field(s) {', '.join(missing)}. It was not written by "
            "agentgym.storage, or was edited; rewrite it with save_trajectories."
        )
    unknown = [k for k in data if k not in known and k != "schema_version"]
    if unknown:
        hints = {k: closest(k, known, n=1) for k in unknown}
        named = ", ".join(f"{k!r}" + (f" (did you mean {hints[k][0]!r}?)" if hints[k] else "")
                          for k in unknown)  # fmt: skip
        raise SchemaError(f"{where} has unknown field(s) {named}. Known: {', '.join(known)}.")


def _observation(data: Any, where: str) -> dict[str, Any]:
    """Copy an observation dict, turning its sequence values back into tuples."""
    if not isinstance(data, dict):
        raise SchemaError(f"{where} should be a JSON object (dict), got {type(data).__name__}.")
    return {k: tuple(v) if isinstance(v, list) else copy.deepcopy(v) for k, v in data.items()}


def _step_from_dict(data: Any, where: str) -> Step:
    _check_keys(data, _STEP_REQUIRED, _STEP_FIELDS, where)
    prompt_ids, action_ids = data.get("prompt_ids"), data.get("action_ids")
    logprobs = data.get("action_logprobs")
    return Step(
        observation=_observation(data["observation"], f"{where}.observation"),
        raw_output=data["raw_output"],
        action=data["action"],
        reward=float(data["reward"]),
        terminated=bool(data["terminated"]),
        truncated=bool(data["truncated"]),
        info=copy.deepcopy(data.get("info") or {}),
        prompt_ids=None if prompt_ids is None else [int(t) for t in prompt_ids],
        action_ids=None if action_ids is None else [int(t) for t in action_ids],
        action_logprobs=None if logprobs is None else [float(x) for x in logprobs],
        rewards={k: float(v) for k, v in (data.get("rewards") or {}).items()},
        meta=copy.deepcopy(data.get("meta") or {}),
    )


def trajectory_from_dict(data: dict[str, Any], *, where: str = "trajectory") -> Trajectory:
    """Build a :class:`~agentgym.types.Trajectory` from a dict made by :func:`trajectory_to_dict`.

    Args:
        data: The plain dict. A ``"schema_version"`` key, if present, is checked.
        where: How to name ``data`` in error messages (e.g. ``"runs/a.jsonl line 3"``).

    Returns:
        The trajectory; observation sequence values are tuples again.

    Raises:
        SchemaError: ``data`` misses required fields, has unknown ones, or has a newer schema.
    """
    _check_keys(data, _TRAJ_REQUIRED, _TRAJ_FIELDS, where)
    if "schema_version" in data:
        _check_version(data["schema_version"], where)
    steps = data.get("steps") or []
    return Trajectory(
        env_id=data["env_id"],
        task=copy.deepcopy(data["task"]),
        seed=int(data["seed"]),
        group=int(data.get("group", -1)),
        steps=[_step_from_dict(s, f"{where}, step {i}") for i, s in enumerate(steps)],
        success=bool(data.get("success", False)),
        total_reward=float(data.get("total_reward", 0.0)),
        final_observation=_observation(
            data.get("final_observation") or {}, f"{where}.final_observation"
        ),
        env_kwargs=copy.deepcopy(data.get("env_kwargs") or {}),
    )


def _check_version(version: Any, where: str) -> None:
    """Raise :class:`SchemaError` unless this code can read schema ``version``."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaError(
            f"{where} has schema_version {version!r}; expected an integer from 1 to "
            f"{SCHEMA_VERSION}. The file is not an agentgym trajectory file or is damaged."
        )
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{where} was written with trajectory schema version {version}, but this agentgym "
            f"reads versions up to {SCHEMA_VERSION}. Fix: upgrade agentgym "
            "(pip install -U agentgym) to read it."
        )


# -- files -------------------------------------------------------------------------------------


def _format(path: Path) -> str:
    """Return the suffix of ``path`` if it names a known format, else raise ValueError."""
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return suffix
    hint = closest(suffix, SUFFIXES, n=1) if suffix else []
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(
        f"Cannot tell the trajectory format of {str(path)!r} from its suffix "
        f"{suffix or '(none)'!r}.{did_you_mean} Expected one of: {', '.join(SUFFIXES)}. "
        "Fix: give the path one of these suffixes."
    )


def _dumps(data: Any) -> str:
    # ensure_ascii keeps every line valid ASCII, even for lone surrogates in tool output.
    return json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _jsonl_line(trajectory: Trajectory) -> str:
    return _dumps({"schema_version": SCHEMA_VERSION, **trajectory_to_dict(trajectory)}) + "\n"


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` only if it succeeded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_trajectories(trajectories: Iterable[Trajectory], path: str | os.PathLike[str]) -> Path:
    """Write trajectories to ``path``, replacing it; the suffix picks the format.

    The file appears only once it is complete, so a crash never leaves half a file behind.

    Args:
        trajectories: The episodes to write, in order.
        path: A ``.jsonl`` or ``.parquet`` path; missing parent folders are created.

    Returns:
        The path written.

    Raises:
        ValueError: The suffix is not one of :data:`SUFFIXES`, or a number is NaN/infinite.
        TypeError: A trajectory holds a value that cannot be stored.
    """
    path = Path(path)
    fmt = _format(path)
    if fmt == ".jsonl":
        text = "".join(_jsonl_line(t) for t in trajectories)
        _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    else:
        table = _to_table([trajectory_to_dict(t) for t in trajectories])
        _write_atomic(path, lambda tmp: pq.write_table(table, tmp))
    return path


def append_jsonl(trajectories: Iterable[Trajectory], path: str | os.PathLike[str]) -> Path:
    """Append trajectories to a ``.jsonl`` file (created if missing), one line each, flushed.

    Meant for streaming results out of a long rollout: each call leaves a readable file.

    Args:
        trajectories: The episodes to append.
        path: A ``.jsonl`` path; missing parent folders are created.

    Returns:
        The path written.

    Raises:
        ValueError: ``path`` does not end in ``.jsonl``, or a number is NaN/infinite.
        TypeError: A trajectory holds a value that cannot be stored.
    """
    path = Path(path)
    if _format(path) != ".jsonl":
        raise ValueError(
            f"append_jsonl writes JSON Lines, but {str(path)!r} ends in {path.suffix!r}. "
            "Fix: append to a .jsonl file and convert it with save_trajectories at the end."
        )
    text = "".join(_jsonl_line(t) for t in trajectories)  # convert all before touching the file
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        # A run killed mid-write leaves a partial last line; start on a fresh line regardless.
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                text = "\n" + text
        f.write(text.encode("utf-8"))
        f.flush()
    return path


def load_trajectories(
    path: str | os.PathLike[str], *, drop_torn_tail: bool = False
) -> list[Trajectory]:
    """Read trajectories written by :func:`save_trajectories` or :func:`append_jsonl`.

    Args:
        path: A ``.jsonl`` or ``.parquet`` file.
        drop_torn_tail: For a JSONL file that :func:`append_jsonl` was writing when its process
            was killed: stop at the first unreadable line instead of raising (that line and
            anything after it are dropped).

    Returns:
        The trajectories, in the order they were written.

    Raises:
        FileNotFoundError: Nothing is at ``path``.
        ValueError: The suffix is not one of :data:`SUFFIXES`.
        SchemaError: The file is unreadable, damaged, or written by a newer agentgym.
    """
    path = Path(path)
    fmt = _format(path)
    if not path.is_file():
        raise FileNotFoundError(
            errno.ENOENT, "No trajectory file here; check the path (save_trajectories writes it)",
            str(path),
        )  # fmt: skip
    if fmt == ".jsonl":
        return _load_jsonl(path, drop_torn_tail=drop_torn_tail)
    return _load_parquet(path)


def _load_jsonl(path: Path, *, drop_torn_tail: bool = False) -> list[Trajectory]:
    trajectories = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{str(path)!r} line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                if drop_torn_tail:
                    break
                raise SchemaError(
                    f"{where} is not valid JSON ({exc.msg} at column {exc.colno}). If a rollout "
                    "was killed while writing, delete that partial line."
                ) from None
            if not isinstance(data, dict) or "schema_version" not in data:
                raise SchemaError(
                    f"{where} has no 'schema_version'; expected one agentgym trajectory object "
                    "per line. Fix: write the file with save_trajectories or append_jsonl."
                )
            trajectories.append(trajectory_from_dict(data, where=where))
    return trajectories


# -- parquet -----------------------------------------------------------------------------------


def _to_table(dicts: Sequence[dict[str, Any]]) -> pa.Table:
    """Flatten trajectory dicts into one Parquet row per step (one null-step row if none)."""
    columns: dict[str, list[Any]] = {name: [] for name in _PARQUET_SCHEMA.names}
    for index, traj in enumerate(dicts):
        head = {
            "traj_index": index,
            **{k: traj[k] for k in ("env_id", "seed", "group", "success", "total_reward")},
            **{k: _dumps(traj[k]) for k in _JSON_TRAJ_COLUMNS},
        }
        rows = [_step_row(i, s) for i, s in enumerate(traj["steps"])] or [{}]
        for row in rows:
            for name, values in columns.items():
                values.append(head[name] if name in head else row.get(name))
    metadata = {METADATA_KEY: str(SCHEMA_VERSION).encode()}
    return pa.table(columns, schema=_PARQUET_SCHEMA.with_metadata(metadata))


def _step_row(index: int, step: dict[str, Any]) -> dict[str, Any]:
    row = {k: step[k] for k in _STEP_FIELDS if k not in _JSON_STEP_COLUMNS}
    row.update({k: _dumps(step[k]) for k in _JSON_STEP_COLUMNS})
    row["rewards"] = list(step["rewards"].items())
    row["step_index"] = index
    return row


def _read_table(path: Path) -> pa.Table:
    """Open a Parquet file, checking its schema version and columns before reading rows."""
    where = repr(str(path))
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(f"{where} is not a readable Parquet file ({exc}).") from None
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise SchemaError(
            f"{where} has no {METADATA_KEY.decode()!r} in its metadata, so it was not written by "
            "agentgym. Fix: write it with agentgym.storage.save_trajectories."
        )
    try:
        version: Any = int(raw)
    except ValueError:
        version = raw.decode(errors="replace")
    _check_version(version, where)
    missing = [name for name in _PARQUET_SCHEMA.names
               if name not in schema.names and name not in _LATER_COLUMNS]
    if missing:
        raise SchemaError(f"{where} lacks the column(s) {', '.join(missing)}; it is damaged.")
    table = pq.read_table(path, columns=[n for n in _PARQUET_SCHEMA.names if n in schema.names])
    for name, default in _LATER_COLUMNS.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.array([default] * table.num_rows, pa.string()))
    return table


def _load_parquet(path: Path) -> list[Trajectory]:
    table = _read_table(path)
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    groups: dict[int, list[int]] = {}
    for row, traj_index in enumerate(cols["traj_index"]):
        groups.setdefault(traj_index, []).append(row)
    trajectories = []
    for traj_index in sorted(groups):
        rows = groups[traj_index]
        first = rows[0]
        where = f"{str(path)!r} trajectory {traj_index}"
        data: dict[str, Any] = {k: cols[k][first] for k in ("env_id", "seed", "group", "success",
                                                             "total_reward")}  # fmt: skip
        indices = cols["step_index"]
        stepped = sorted((indices[r], r) for r in rows if indices[r] is not None)
        try:
            data.update({k: json.loads(cols[k][first]) for k in _JSON_TRAJ_COLUMNS})
            data["steps"] = [_step_from_row(cols, r) for _, r in stepped]
        except (TypeError, ValueError) as exc:  # a null or non-JSON cell: the file was edited
            raise SchemaError(f"{where} has a damaged JSON column ({exc}).") from None
        trajectories.append(trajectory_from_dict(data, where=where))
    return trajectories


def _step_from_row(cols: dict[str, list[Any]], row: int) -> dict[str, Any]:
    step = {k: cols[k][row] for k in _STEP_FIELDS if k not in _JSON_STEP_COLUMNS}
    step.update({k: json.loads(cols[k][row]) for k in _JSON_STEP_COLUMNS})
    step["rewards"] = dict(step["rewards"] or ())
    return step
