"""One PPO update per setting under ``torchrun`` (used by ``test_distributed.py``).

Usage: ``torchrun --nproc_per_node=2 ddp_ppo_script.py CHECKPOINT TRAJECTORIES OUT SETTINGS``
where ``SETTINGS`` is a JSON list of :class:`PPOConfig` keyword dicts. For each setting ``i``,
every rank trains on its own shard of the trajectories, then writes its policy and critic weights
to ``OUT/<i>/rank<r>.pt``, asks the trainer to save to ``OUT/<i>/ckpt-rank<r>`` (only rank 0
should write it) and its metrics and zero-weight micro-steps to ``OUT/<i>/rank<r>.json``. A
sharded trainer (``parallel=fsdp``) then trains once more from rank 0's checkpoint, which restores
its optimizer state, and writes ``OUT/<i>/rank<r>-resumed.pt``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def weights(trainer) -> dict:
    """The policy's and the critic's parameters, by name, on the CPU (whole tensors: gathered
    from the shards when the trainer shards its models, so every rank must call it)."""
    def whole(value):
        value = value.full_tensor() if hasattr(value, "full_tensor") else value
        return value.detach().cpu().clone()

    out = {f"policy.{k}": whole(v) for k, v in trainer.model.named_parameters()}
    if trainer.value_head is not None:
        out.update({f"head.{k}": whole(v) for k, v in trainer.value_head.named_parameters()})
    if trainer.critic_model is not None:
        out.update({f"critic.{k}": whole(v)
                    for k, v in trainer.critic_model.named_parameters()})
    return out


def main(argv: list[str]) -> int:
    import torch

    from agentgym.storage import load_trajectories
    from agentgym.trainers.distributed import destroy, init_distributed, shard
    from agentgym.trainers.fsdp import is_sharded
    from agentgym.trainers.ppo import PPOConfig, PPOTrainer

    checkpoint, data, out = argv[0], argv[1], Path(argv[2])
    info = init_distributed()
    assert info.world_size == 2, info
    mine = shard(load_trajectories(data), info)
    for i, settings in enumerate(json.loads(argv[3])):
        folder = out / str(i)
        folder.mkdir(parents=True, exist_ok=True)
        trainer = PPOTrainer(checkpoint, PPOConfig(**settings))
        steps = trainer._micro_steps
        dummies = []

        def counted(rows, mb, *, synced, steps=steps, dummies=dummies):
            plan = steps(rows, mb, synced=synced)
            dummies.extend(1 for _, weight, _ in plan if weight == 0)
            return plan

        trainer._micro_steps = counted
        metrics = trainer.update(mine, seed=7)
        torch.save(weights(trainer), folder / f"rank{info.rank}.pt")
        trainer.save(folder / f"ckpt-rank{info.rank}")
        (folder / f"rank{info.rank}.json").write_text(json.dumps(
            {"metrics": metrics, "dummy_steps": len(dummies), "episodes": len(mine),
             "sharded": trainer.sharded and is_sharded(trainer.model)}))
        if trainer.sharded:  # resume from the saved checkpoint (optimizer state included)
            again = PPOTrainer(folder / "ckpt-rank0", PPOConfig(**settings))
            again.update(mine, seed=8)
            torch.save(weights(again), folder / f"rank{info.rank}-resumed.pt")
    destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
