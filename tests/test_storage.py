"""Tests for :mod:`agentgym.storage`: exact round trips through JSON Lines and Parquet."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from agentgym.errors import SchemaError
from agentgym.storage import (
    SCHEMA_VERSION,
    append_jsonl,
    load_trajectories,
    save_trajectories,
    trajectory_from_dict,
    trajectory_to_dict,
)
from agentgym.types import Step, Trajectory

NASTY = 'línea 1\nline 2\r\n\ttab \x00 nul \x1b[31m \u2028 \U0001f600 ☃ "q" \\ end\n'
EXACT_FLOATS = [0.1 + 0.2, 1e-310, 1.7976931348623157e308, -2.5e-8, 1 / 3, -0.0]
FORMATS = [".jsonl", ".parquet"]
ACTIONS = ("go north", "take kéy", "open door\n")
DEEP = {"a": {"b": [1, {"c": None, "d": [True, 2.5, "x\ty"]}]}}


def _obs(text: str, actions: tuple[str, ...], error: str = "") -> dict:
    return {"text": text, "goal": "open the door ✓", "admissible_actions": actions,
            "last_action_error": error}  # fmt: skip


def _step(i: int, *, tokens: bool, done: bool = False) -> Step:
    return Step(
        observation=_obs(f"room {i}: {NASTY}", ACTIONS),
        raw_output=f"Thought: step {i}\n{NASTY}Action: take kéy",
        action="take kéy",
        reward=EXACT_FLOATS[i % len(EXACT_FLOATS)],
        terminated=done,
        truncated=False,
        info={
            "won": done,
            "valid_action": i != 1,
            "reward_terms": {"progress": 0.1 * i, "penalty": -0.05},
            "task": {"id": "kd-3", "type": "keydoor", "split": "train"},
            "subgoals": ["find key", "open door"],
            "deep": copy.deepcopy(DEEP),
            "step": i,
        },
        prompt_ids=[0, 1, 2**40, 151_643] if tokens else None,
        action_ids=[7, 8, i] if tokens else None,
        action_logprobs=[-0.123456789012345678, -1e-12, -20.5] if tokens else None,
        rewards={"outcome": float(done), "agentprm": EXACT_FLOATS[i % 6] / 7} if i else {},
        meta={"explore": True, "expert_action": "go west"} if i == 1 else {},
    )


def _trajectory(n_steps: int, *, tokens: bool, seed: int = 3, group: int = -1) -> Trajectory:
    steps = [_step(i, tokens=tokens, done=i == n_steps - 1) for i in range(n_steps)]
    return Trajectory(
        env_id="agentgym/KeyDoor-v0",
        task={"id": f"kd-{seed}", "type": "keydoor", "split": "test", "note": NASTY},
        seed=seed,
        group=group,
        steps=steps,
        success=n_steps > 0,
        total_reward=float(sum(s.reward for s in steps)),
        final_observation=_obs("the end", ()),
        env_kwargs={"max_rooms": 4, "noise": 0.25, "names": ["a", "b"], "nested": {"k": None}},
    )


@pytest.fixture
def trajectories() -> list[Trajectory]:
    """A mix: with tokens, without tokens, zero steps, one step."""
    return [
        _trajectory(3, tokens=True, seed=1, group=0),
        _trajectory(4, tokens=False, seed=2, group=0),
        _trajectory(0, tokens=False, seed=5),
        _trajectory(1, tokens=True, seed=2**62),
    ]


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_equals_original(
    tmp_path: Path, trajectories: list[Trajectory], suffix: str
) -> None:
    path = save_trajectories(trajectories, tmp_path / f"t{suffix}")
    loaded = load_trajectories(path)
    assert loaded == trajectories
    assert [len(t) for t in loaded] == [3, 4, 0, 1]
    assert loaded[2].steps == []
    for traj in loaded:
        assert isinstance(traj.final_observation["admissible_actions"], tuple)
        for step in traj.steps:
            assert isinstance(step.observation["admissible_actions"], tuple)
            assert step.observation["admissible_actions"] == ACTIONS
            assert NASTY in step.raw_output


@pytest.mark.parametrize("suffix", FORMATS)
def test_floats_and_token_ids_are_bit_exact(
    tmp_path: Path, trajectories: list[Trajectory], suffix: str
) -> None:
    loaded = load_trajectories(save_trajectories(trajectories, tmp_path / f"t{suffix}"))
    for before, after in zip(trajectories, loaded):
        assert after.total_reward.hex() == before.total_reward.hex()
        for s0, s1 in zip(before.steps, after.steps):
            assert s1.reward.hex() == s0.reward.hex()
            assert math.copysign(1.0, s1.reward) == math.copysign(1.0, s0.reward)  # -0.0 kept
            assert s1.prompt_ids == s0.prompt_ids
            assert s1.action_ids == s0.action_ids
            assert [x.hex() for x in s1.action_logprobs or []] == [
                x.hex() for x in s0.action_logprobs or []
            ]
            assert {k: v.hex() for k, v in s1.rewards.items()} == {
                k: v.hex() for k, v in s0.rewards.items()
            }
    assert loaded[3].seed == 2**62


@pytest.mark.parametrize("suffix", FORMATS)
def test_empty_token_list_differs_from_none(tmp_path: Path, suffix: str) -> None:
    traj = _trajectory(2, tokens=False)
    traj.steps[0].action_ids = []
    traj.steps[0].action_logprobs = []
    loaded = load_trajectories(save_trajectories([traj], tmp_path / f"t{suffix}"))[0]
    assert loaded.steps[0].action_ids == [] and loaded.steps[0].action_logprobs == []
    assert loaded.steps[0].prompt_ids is None
    assert loaded.steps[1].action_ids is None
    assert loaded == traj


@pytest.mark.parametrize("suffix", FORMATS)
def test_no_trajectories_round_trip(tmp_path: Path, suffix: str) -> None:
    path = save_trajectories([], tmp_path / f"t{suffix}")
    assert path.is_file()
    assert load_trajectories(path) == []


def test_parquet_is_one_row_per_step(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    path = save_trajectories(trajectories, tmp_path / "t.parquet")
    table = pq.read_table(path)
    # 3 + 4 + 1 (the zero-step trajectory keeps one row with null step columns) + 1
    assert table.num_rows == 9
    assert table.schema.metadata[b"agentgym.schema_version"] == str(SCHEMA_VERSION).encode()
    rows = table.to_pylist()
    assert [r["traj_index"] for r in rows] == [0, 0, 0, 1, 1, 1, 1, 2, 3]
    assert [r["step_index"] for r in rows] == [0, 1, 2, 0, 1, 2, 3, None, 0]
    empty = rows[7]
    assert empty["seed"] == 5 and empty["env_id"] == "agentgym/KeyDoor-v0"
    assert all(empty[k] is None for k in ("observation", "action", "reward", "info", "rewards"))
    first = rows[0]
    assert first["raw_output"] == trajectories[0].steps[0].raw_output
    assert first["prompt_ids"] == [0, 1, 2**40, 151_643]
    assert rows[3]["prompt_ids"] is None and rows[3]["action_logprobs"] is None
    assert dict(rows[1]["rewards"]) == trajectories[0].steps[1].rewards
    assert json.loads(first["info"])["deep"]["a"]["b"][1]["d"] == [True, 2.5, "x\ty"]
    assert json.loads(first["task"]) == trajectories[0].task
    assert table.schema.field("prompt_ids").type == pa.list_(pa.int64())
    assert table.schema.field("action_logprobs").type == pa.list_(pa.float64())
    assert table.schema.field("reward").type == pa.float64()
    # Flat enough to aggregate directly: mean reward of the steps of trajectory 1.
    mask = pc.equal(table["traj_index"], 1)
    mean = pc.mean(table.filter(mask)["reward"]).as_py()
    assert mean == pytest.approx(sum(s.reward for s in trajectories[1].steps) / 4)


def test_parquet_written_before_the_meta_column_loads_back(
    tmp_path: Path, trajectories: list[Trajectory]
) -> None:
    path = save_trajectories(trajectories, tmp_path / "t.parquet")
    table = pq.read_table(path)
    old = table.drop_columns(["meta"]).replace_schema_metadata(table.schema.metadata)
    pq.write_table(old, path)
    loaded = load_trajectories(path)
    assert [s.meta for t in loaded for s in t.steps] == [{}] * sum(len(t) for t in trajectories)
    assert [s.action for t in loaded for s in t.steps] == [
        s.action for t in trajectories for s in t.steps]


def test_parquet_rows_in_any_order_load_back(
    tmp_path: Path, trajectories: list[Trajectory]
) -> None:
    path = save_trajectories(trajectories, tmp_path / "t.parquet")
    table = pq.read_table(path)
    shuffled = table.take(pa.array(list(reversed(range(table.num_rows)))))
    pq.write_table(shuffled.replace_schema_metadata(table.schema.metadata), path)
    assert load_trajectories(path) == trajectories


def test_newer_schema_jsonl_raises(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    path = save_trajectories(trajectories[:2], tmp_path / "t.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["schema_version"] = SCHEMA_VERSION + 1
    lines[1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        load_trajectories(path)
    message = str(caught.value)
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert f"up to {SCHEMA_VERSION}" in message
    assert "upgrade agentgym" in message and "line 2" in message


def test_newer_schema_parquet_raises(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    path = save_trajectories(trajectories, tmp_path / "t.parquet")
    table = pq.read_table(path)
    newer = {b"agentgym.schema_version": str(SCHEMA_VERSION + 1).encode()}
    pq.write_table(table.replace_schema_metadata(newer), path)
    with pytest.raises(SchemaError, match=f"version {SCHEMA_VERSION + 1}.*upgrade agentgym"):
        load_trajectories(path)


def test_parquet_without_version_metadata_raises(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(SchemaError, match="agentgym.schema_version"):
        load_trajectories(path)


def test_jsonl_line_without_version_raises(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(trajectory_to_dict(trajectories[0])) + "\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="line 1.*schema_version"):
        load_trajectories(path)


@pytest.mark.parametrize("name", ["t.json", "t.csv", "t", "t.pq"])
def test_bad_suffix_names_allowed_suffixes(
    tmp_path: Path, trajectories: list[Trajectory], name: str
) -> None:
    path = tmp_path / name
    for call in (
        lambda: save_trajectories(trajectories, path),
        lambda: load_trajectories(path),
        lambda: append_jsonl(trajectories, path),
    ):
        with pytest.raises(ValueError, match=r"\.jsonl, \.parquet") as caught:
            call()
        assert str(path) in str(caught.value)
    assert not path.exists()


def test_json_suffix_suggests_jsonl(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Did you mean '.jsonl'"):
        load_trajectories(tmp_path / "t.json")


@pytest.mark.parametrize("suffix", FORMATS)
def test_missing_file_raises_with_path(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"nowhere{suffix}"
    with pytest.raises(FileNotFoundError) as caught:
        load_trajectories(path)
    assert str(path) in str(caught.value)


def test_append_jsonl_appends(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    path = tmp_path / "run" / "stream.jsonl"  # the folder is created
    append_jsonl(trajectories[:1], path)
    assert load_trajectories(path) == trajectories[:1]
    append_jsonl(trajectories[1:3], path)
    append_jsonl([], path)
    append_jsonl(trajectories[3:], path)
    assert load_trajectories(path) == trajectories
    lines = path.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 5 and lines[-1] == ""  # one line per trajectory, newline-terminated
    assert all(json.loads(line)["schema_version"] == SCHEMA_VERSION for line in lines[:-1])


def test_append_jsonl_after_save_and_after_partial_line(
    tmp_path: Path, trajectories: list[Trajectory]
) -> None:
    path = save_trajectories(trajectories[:2], tmp_path / "t.jsonl")
    append_jsonl(trajectories[2:], path)
    assert load_trajectories(path) == trajectories
    # A rollout killed mid-write leaves a partial line; new records still start on their own line.
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"schema_version": 1, "env_')
    append_jsonl(trajectories[:1], path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert trajectory_from_dict(json.loads(lines[-1])) == trajectories[0]
    with pytest.raises(SchemaError, match="line 5 is not valid JSON.*partial line"):
        load_trajectories(path)
    # what a resumed run reads: everything before the torn line
    assert load_trajectories(path, drop_torn_tail=True) == trajectories


def test_save_replaces_existing_file(tmp_path: Path, trajectories: list[Trajectory]) -> None:
    for suffix in FORMATS:
        path = save_trajectories(trajectories, tmp_path / f"t{suffix}")
        save_trajectories(trajectories[1:2], path)
        assert load_trajectories(path) == trajectories[1:2]


def test_dict_helpers_are_plain_json_and_inverse(trajectories: list[Trajectory]) -> None:
    for traj in trajectories:
        data = trajectory_to_dict(traj)
        assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain JSON types only
        assert "schema_version" not in data
        assert trajectory_from_dict(data) == traj
        if traj.steps:
            assert data["steps"][0]["observation"]["admissible_actions"] == list(
                traj.steps[0].observation["admissible_actions"]
            )
            data["steps"][0]["info"]["deep"]["a"]["b"].append("changed")  # a copy, not a view
            assert traj.steps[0].info["deep"] == DEEP


def test_from_dict_rejects_missing_and_unknown_fields(trajectories: list[Trajectory]) -> None:
    data = trajectory_to_dict(trajectories[0])
    del data["seed"]
    with pytest.raises(SchemaError, match="seed"):
        trajectory_from_dict(data)
    data = trajectory_to_dict(trajectories[0])
    data["sucess"] = True
    with pytest.raises(SchemaError, match="did you mean 'success'"):
        trajectory_from_dict(data)


@pytest.mark.parametrize("suffix", FORMATS)
def test_numpy_values_are_stored_as_python(tmp_path: Path, suffix: str) -> None:
    traj = _trajectory(1, tokens=True)
    traj.steps[0].info["np"] = {"f": np.float64(0.5), "i": np.int64(3), "a": np.arange(3)}
    traj.steps[0].prompt_ids = list(np.array([5, 6, 7], dtype=np.int64))
    loaded = load_trajectories(save_trajectories([traj], tmp_path / f"t{suffix}"))[0]
    assert loaded.steps[0].info["np"] == {"f": 0.5, "i": 3, "a": [0, 1, 2]}
    assert type(loaded.steps[0].info["np"]["i"]) is int
    assert loaded.steps[0].prompt_ids == [5, 6, 7]


@pytest.mark.parametrize("suffix", FORMATS)
def test_non_finite_and_unstorable_values_raise_before_writing(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    bad = _trajectory(2, tokens=True)
    bad.steps[1].reward = math.nan
    with pytest.raises(ValueError, match=r"steps\[1\]\.reward is nan"):
        save_trajectories([bad], path)
    bad = _trajectory(2, tokens=True)
    bad.steps[0].action_logprobs = [-1.0, -math.inf]
    with pytest.raises(ValueError, match=r"action_logprobs\[1\]"):
        save_trajectories([bad], path)
    bad = _trajectory(1, tokens=False)
    bad.steps[0].info[3] = "int key"
    with pytest.raises(TypeError, match="key 3"):
        save_trajectories([bad], path)
    bad.steps[0].info = {"obj": object()}
    with pytest.raises(TypeError, match=r"info\['obj'\] is a object"):
        save_trajectories([bad], path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_save_rejects_non_trajectories(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Expected an agentgym.types.Trajectory, got dict"):
        save_trajectories([{"env_id": "x"}], tmp_path / "t.jsonl")  # type: ignore[list-item]
