"""Behaviour cloning: sample building, the pure maths, and the training loop on a tiny model."""

from __future__ import annotations

import csv
import dataclasses
import math
import shutil
from pathlib import Path

import pytest
import torch

from agentgym.errors import ConfigError
from agentgym.policies import OraclePolicy
from agentgym.policies.hf import HFPolicy, fit_prompt
from agentgym.prompts import ReActFormat
from agentgym.rollout import RolloutConfig, rollout
from agentgym.trainers.sft import (
    IGNORE,
    Sample,
    SFTConfig,
    SFTTrainer,
    build_samples,
    collate,
    latest_checkpoint,
    lr_factor,
    make_batches,
    masked_nll,
    step_input,
)

ENV = "agentgym/KeyDoor-v0"


@pytest.fixture(scope="module")
def small_model(tiny_checkpoint: Path, tmp_path_factory) -> Path:
    """A smaller model than the session's (fast to train) sharing its tokenizer."""
    from transformers import AutoTokenizer

    from agentgym.models import build_tiny_model

    path = tmp_path_factory.mktemp("sft-small")
    build_tiny_model(path, tokenizer=AutoTokenizer.from_pretrained(tiny_checkpoint),
                     hidden_size=64, intermediate_size=128, layers=2, heads=2, seed=3)
    return path


@pytest.fixture(scope="module")
def demos():
    return rollout(ENV, OraclePolicy(think=True), episodes=2, seed=0,
                   config=RolloutConfig(progress=False))


def _metrics(out_dir: Path) -> list[dict[str, str]]:
    with (out_dir / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


# --- pure functions ----------------------------------------------------------------------------


def test_prompts_are_exactly_what_hf_policy_sent(small_model: Path) -> None:
    policy = HFPolicy(str(small_model), temperature=1.0, max_new_tokens=8, seed=1)
    trajs = rollout(ENV, policy, episodes=1, seed=0,
                    config=RolloutConfig(max_episode_steps=5, progress=False))
    steps = trajs[0].steps
    assert steps
    samples = build_samples(trajs, policy.tokenizer, policy.format, max_tokens=4096)
    assert len(samples) == len(steps)
    for s, step in zip(samples, steps):
        n = len(step.prompt_ids)
        assert s.input_ids[:n] == step.prompt_ids
        assert all(t == IGNORE for t in s.labels[:n])
    # And the generic path: HFPolicy.prompt_ids on the reconstructed input.
    assert policy.prompt_ids(step_input(trajs[0], len(steps) - 1))[0] == steps[-1].prompt_ids


def test_labels_mask_the_prompt_and_end_with_eos(small_model: Path, demos) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(small_model)
    samples = build_samples(demos, tok, ReActFormat(think=True), max_tokens=4096)
    assert len(samples) == sum(len(t) for t in demos)
    step = demos[0].steps[1]
    target = tok(step.raw_output, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    s = samples[1]
    assert sum(t != IGNORE for t in s.labels) == len(target)
    assert s.input_ids[-len(target):] == target and s.labels[-len(target):] == target
    assert len(s.labels) == len(s.input_ids)
    # A tight budget drops history turns (never the target) to fit.
    last = samples[len(demos[0]) - 1]
    short = build_samples(demos[:1], tok, ReActFormat(think=True), max_tokens=len(last) - 20)
    assert len(short[-1]) <= len(last) - 20
    assert short[-1].labels[-len(target):][-1] == tok.eos_token_id


def test_chat_history_packs_each_episode_into_one_exact_sequence(small_model: Path,
                                                                 demos) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(small_model)
    fmt = ReActFormat(think=True, history_style="chat", history_turns=50, max_admissible=0)
    samples = build_samples(demos, tok, fmt, max_tokens=4096)
    assert len(samples) == len(demos)  # one sequence per episode
    for traj, sample in zip(demos, samples):
        assert len(sample.labels) == len(sample.input_ids)
        start = 0
        for i, step in enumerate(traj.steps):
            # Up to step i's target, the sequence is exactly the prompt HFPolicy renders at step i.
            prompt = fit_prompt(tok, fmt, step_input(traj, i), 4096)[0]
            assert sample.input_ids[:len(prompt)] == prompt
            assert all(t == IGNORE for t in sample.labels[start:len(prompt)])
            target = tok(step.raw_output, add_special_tokens=False)["input_ids"]
            target += [tok.eos_token_id]
            end = len(prompt) + len(target)
            assert sample.labels[len(prompt):end] == target
            start = end
        assert start == len(sample.input_ids)
    # Inline history repeats the past in every prompt: no step extends the previous one.
    assert len(build_samples(demos, tok, ReActFormat(think=True), max_tokens=4096)) == sum(
        len(t) for t in demos)
    # A budget smaller than an episode splits it, and every sequence stays within the budget.
    budget = max(len(s) for s in samples) // 2
    split = build_samples(demos, tok, fmt, max_tokens=budget)
    assert len(demos) < len(split) <= sum(len(t) for t in demos)
    assert max(len(s) for s in split) <= budget
    assert sum(t != IGNORE for s in split for t in s.labels) == sum(
        t != IGNORE for s in samples for t in s.labels)


def test_collate_right_pads_and_masks_padding() -> None:
    a = Sample(input_ids=[5, 6, 7], labels=[IGNORE, 6, 7])
    b = Sample(input_ids=[1, 2, 3, 4, 9], labels=[IGNORE, IGNORE, 3, 4, 9])
    batch = collate([a, b], pad_id=0)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, 5)
    assert batch["input_ids"][0].tolist() == [5, 6, 7, 0, 0]
    assert batch["labels"][0].tolist() == [IGNORE, 6, 7, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_make_batches_covers_each_sample_once_in_length_buckets() -> None:
    lengths = [7, 3, 15, 0, 9, 12, 1, 4, 14, 2, 8, 11, 5, 13, 6, 10]
    batches = make_batches(lengths, 4, seed=0, epoch=0, bucket=4)
    assert sorted(i for b in batches for i in b) == list(range(16))
    assert sorted(sorted(lengths[i] for i in b) for b in batches) == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    assert batches == make_batches(lengths, 4, seed=0, epoch=0, bucket=4)
    other = [make_batches(lengths, 4, seed=0, epoch=e, bucket=1) for e in range(1, 4)]
    assert any(o != other[0] for o in other[1:])


def test_masked_nll_by_hand() -> None:
    # t=0 predicts label[1]=1 with p = 3/4; t=1 predicts label[2] (masked); t=2 predicts nothing.
    logits = torch.tensor([[[0.0, math.log(3)], [0.0, 0.0], [5.0, 0.0]]])
    labels = torch.tensor([[IGNORE, 1, IGNORE]])
    assert masked_nll(logits, labels).item() == pytest.approx(math.log(4 / 3), abs=1e-6)
    labels = torch.tensor([[IGNORE, 1, 0]])  # t=1: p(0) = 1/2
    expected = math.log(4 / 3) + math.log(2)
    assert masked_nll(logits, labels, reduction="sum").item() == pytest.approx(expected, abs=1e-6)
    assert masked_nll(logits, labels).item() == pytest.approx(expected / 2, abs=1e-6)


def test_lr_factor_by_hand() -> None:
    f = [lr_factor(s, warmup_steps=2, total_steps=6, schedule="cosine") for s in range(7)]
    assert f[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert f[4] == pytest.approx(0.5) and f[6] == pytest.approx(0.0)
    assert lr_factor(5, warmup_steps=2, total_steps=6, schedule="constant") == 1.0
    # A time budget moves the cosine along when it runs ahead of the steps: half the time
    # spent at step 2 of 6 is the middle of the cosine; all of it is its end.
    timed = [lr_factor(2, warmup_steps=2, total_steps=6, schedule="cosine", time_used=t)
             for t in (0.0, 0.5, 1.0, 2.0)]
    assert timed == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert lr_factor(4, warmup_steps=2, total_steps=6, schedule="cosine",
                     time_used=0.1) == pytest.approx(0.5)  # steps further along: they rule
    assert lr_factor(0, warmup_steps=2, total_steps=6, schedule="cosine", time_used=0.9) == 0.5


@pytest.mark.parametrize(("field", "value"), [
    ("lr", 0.0), ("batch_size", 0), ("grad_accum", 0), ("schedule", "linear"),
    ("dtype", "float8"), ("save_every", -1), ("max_tokens", 0),
])
def test_bad_config_names_the_field(field: str, value) -> None:
    with pytest.raises(ConfigError, match=f"trainer.{field}"):
        SFTConfig(**{field: value})


# --- the loop ----------------------------------------------------------------------------------


def test_overfits_saves_and_the_checkpoint_acts(small_model: Path, demos, tmp_path: Path) -> None:
    few = [dataclasses.replace(demos[0], steps=demos[0].steps[:3])]
    config = SFTConfig(lr=3e-3, max_steps=30, batch_size=3, schedule="constant", save_every=10,
                       history_turns=0,
                       out_dir=str(tmp_path / "run"), progress=False)
    final = SFTTrainer(small_model, few, config).train()
    rows = _metrics(tmp_path / "run")
    assert [int(r["step"]) for r in rows] == list(range(1, 31))
    assert set(rows[0]) >= {"step", "loss/sft", "lr", "tokens"}
    losses = [float(r["loss/sft"]) for r in rows]
    assert losses[-1] < 0.7 * losses[0]
    assert int(rows[-1]["tokens"]) > int(rows[0]["tokens"]) > 0
    assert final == tmp_path / "run" / "checkpoint-30"
    assert {p.name for p in (tmp_path / "run").glob("checkpoint-*")} == {
        "checkpoint-10", "checkpoint-20", "checkpoint-30"}
    assert (final / "trainer_state.pt").exists() and latest_checkpoint(tmp_path / "run") == final
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    logged = events.Scalars("loss/sft")
    assert [e.step for e in logged] == list(range(1, 31))
    assert [e.value for e in logged] == pytest.approx(losses, rel=1e-6)

    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(final)
    assert model.num_parameters() > 0
    policy = HFPolicy(str(final), temperature=0, max_new_tokens=16)
    assert policy.format.settings() == SFTTrainer(small_model, few, config).format.settings()
    assert policy.format.history_turns == 0  # the trained prompt, read from the checkpoint
    out = policy.act([step_input(few[0], 0)])
    assert len(out) == 1 and out[0].action_ids


def test_resume_gives_the_same_run(small_model: Path, demos, tmp_path: Path) -> None:
    def config(out: Path) -> SFTConfig:
        return SFTConfig(lr=1e-3, max_steps=6, batch_size=2, grad_accum=2, warmup_steps=2,
                         weight_decay=0.01, save_every=3,
                         history_turns=1, out_dir=str(out), progress=False)

    straight = tmp_path / "straight"
    SFTTrainer(small_model, demos, config(straight)).train()
    # An interrupted run: its checkpoint at step 3 and metrics written past it (kept to step 3).
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(straight / "checkpoint-3", resumed / "checkpoint-3")
    shutil.copy(straight / "metrics.csv", resumed / "metrics.csv")
    SFTTrainer(small_model, demos, config(resumed)).train(resume=True)

    a, b = _metrics(straight), _metrics(resumed)
    assert [r["step"] for r in b] == [str(s) for s in range(1, 7)]
    for ra, rb in zip(a, b):
        assert float(ra["loss/sft"]) == pytest.approx(float(rb["loss/sft"]), abs=1e-5)
        assert float(ra["lr"]) == pytest.approx(float(rb["lr"]))
        assert ra["tokens"] == rb["tokens"]
    from safetensors.torch import load_file

    wa = load_file(straight / "checkpoint-6" / "model.safetensors")
    wb = load_file(resumed / "checkpoint-6" / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 1e-5


def test_max_minutes_stops_saves_and_stays_stopped(small_model: Path, demos,
                                                   tmp_path: Path) -> None:
    config = SFTConfig(lr=1e-3, max_steps=50, batch_size=2, max_minutes=1e-6, log_every=10,
                       history_turns=1, out_dir=str(tmp_path), progress=False)
    final = SFTTrainer(small_model, demos, config).train()
    # The first step already uses up the budget: it is logged and saved, and training stops.
    assert final == tmp_path / "checkpoint-1"
    assert [r["step"] for r in _metrics(tmp_path)] == ["1"]
    state = torch.load(final / "trainer_state.pt", weights_only=False)
    assert state["step"] == 1 and state["seconds"] > 0
    assert state["scheduler"]["_last_lr"][0] == pytest.approx(0.0)  # the time ran out: cosine end
    # Resuming finds the budget spent and trains no further.
    assert SFTTrainer(small_model, demos, config).train(resume=True) == final
    assert latest_checkpoint(tmp_path) == final
