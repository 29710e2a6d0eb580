"""One online-DPO update and one short SFT run under ``torchrun`` (used by
``test_distributed_sft_dpo.py``).

Usage: ``torchrun --nproc_per_node=2 ddp_sft_dpo_script.py CHECKPOINT PAIRS DEMOS OUT SETTINGS``
where ``PAIRS`` is a JSON list of :class:`PreferencePair` fields, ``DEMOS`` a trajectory file and
``SETTINGS`` a JSON object ``{"dpo": {...}, "sft": {...}}`` of config keywords. Every rank:

* trains one DPO update on its shard of the pairs, then writes its weights to
  ``OUT/dpo/rank<r>.pt``, its metrics and zero-weight passes to ``OUT/dpo/rank<r>.json`` and asks
  the trainer to save to ``OUT/dpo/ckpt-rank<r>`` (only rank 0 should write it);
* runs the SFT trainer on the demonstrations with ``out_dir=OUT/sft/rank<r>`` (only rank 0's
  folder should appear), then writes its final weights to ``OUT/sft/rank<r>.pt`` and its
  zero-weight passes to ``OUT/sft/rank<r>.json``;
* runs the same DPO update and SFT with the model sharded (``parallel=fsdp``) in
  ``OUT/dpo-fsdp`` and ``OUT/sft-fsdp``.

It also holds :class:`ShortIsBetter`, the step scorer of the tests' online-DPO runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class ShortIsBetter:
    """A step scorer preferring short answers: minus the length of each step's raw output
    (``reward.terms=[{name: 'ddp_sft_dpo_script:ShortIsBetter'}]`` with this folder on the
    path)."""

    name = "short"

    def score(self, trajectories) -> list:
        import numpy as np

        return [np.array([-float(len(s.raw_output)) for s in t.steps]) for t in trajectories]


def parameters(model) -> dict:
    """A model's parameters, by name, on the CPU (whole tensors: gathered from the shards of a
    sharded model, so every rank must call it then)."""
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v).detach().cpu().clone()
            for k, v in model.named_parameters()}


def dpo(checkpoint: str, pairs_file: str, out: Path, settings: dict, rank: int) -> None:
    import torch

    from agentgym.trainers.distributed import shard
    from agentgym.trainers.online_dpo import OnlineDPOConfig, OnlineDPOTrainer, PreferencePair
    from agentgym.trainers.rl_data import micro_batches

    pairs = [PreferencePair(**p) for p in json.loads(Path(pairs_file).read_text())]
    trainer = OnlineDPOTrainer(checkpoint, OnlineDPOConfig(**settings))
    step, empty = trainer._step, []

    def counted(mb, *args, step=step, empty=empty):
        if not shard(mb):  # this rank's share of the minibatch is empty
            empty.append(mb)
        return step(mb, *args)

    trainer._step = counted
    measure, padded = trainer.sequence_logprobs, []

    def passes(rows, measure=measure, padded=padded, **kwargs):  # forward passes run on filler
        plan = micro_batches([len(r) for r in rows], trainer.config.micro_tokens)
        padded.append(max(0, kwargs.get("passes", 0) - len(plan)))
        return measure(rows, **kwargs)

    trainer.sequence_logprobs = passes
    metrics = trainer.update(shard(pairs), seed=7)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(parameters(trainer.model), out / f"rank{rank}.pt")
    trainer.save(out / f"ckpt-rank{rank}")
    (out / f"rank{rank}.json").write_text(json.dumps(
        {"metrics": metrics, "dummy_steps": len(empty), "padded_passes": sum(padded)}))


def sft(checkpoint: str, demos_file: str, out: Path, settings: dict, rank: int) -> None:
    import torch

    from agentgym.storage import load_trajectories
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    demos = load_trajectories(demos_file)
    config = SFTConfig(**settings, out_dir=str(out / f"rank{rank}"))
    trainer = SFTTrainer(checkpoint, demos, config, eval_trajectories=demos[:2])
    passes, save, dummies, final = trainer._passes, trainer._save, [], {}

    def counted(micro, passes=passes, dummies=dummies):
        plan = passes(micro)
        dummies.extend(1 for _, weight, _ in plan if weight == 0)
        return plan

    def kept(model, *args, save=save, final=final):  # the weights as the last save saw them
        final.update(parameters(model))
        return save(model, *args)

    trainer._passes, trainer._save = counted, kept
    trainer.train()
    out.mkdir(parents=True, exist_ok=True)
    torch.save(final, out / f"rank{rank}.pt")
    (out / f"rank{rank}.json").write_text(json.dumps({"dummy_passes": len(dummies)}))


def main(argv: list[str]) -> int:
    from agentgym.trainers.distributed import destroy, init_distributed

    checkpoint, pairs, demos, out = argv[0], argv[1], argv[2], Path(argv[3])
    settings = json.loads(argv[4])
    info = init_distributed()
    assert info.world_size == 2, info
    dpo(checkpoint, pairs, out / "dpo", settings["dpo"], info.rank)
    dpo(checkpoint, pairs, out / "dpo-fsdp", {**settings["dpo"], "parallel": "fsdp"}, info.rank)
    sft(checkpoint, demos, out / "sft", settings["sft"], info.rank)
    sft(checkpoint, demos, out / "sft-fsdp", {**settings["sft"], "parallel": "fsdp"}, info.rank)
    destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
