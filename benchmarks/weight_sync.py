"""Weight sync from a trainer into Ray-served policy replicas, against rebuilding the policy.

Issue 9's measurement. For models of several sizes (randomly initialised Llama configs with
the same locally trained tokenizer; nothing is downloaded), one run measures:

* **rebuild** (the peer: what the in-process experiment loop does each iteration): build an
  ``HFPolicy`` from the new checkpoint folder;
* **sync, state dict**: ``RayPolicy.sync_weights(state_dict)`` into ``--replicas`` replicas
  (the dict is put into Ray's object store once; each replica loads it in place);
* **sync, folder**: ``RayPolicy.sync_weights(folder)`` (each replica reads the checkpoint).

Medians over ``--repeats`` syncs (the first of each kind is a warm-up and dropped). CPU here;
replicas on the same machine share its cores.

Usage::

    .venv/bin/python benchmarks/weight_sync.py [--sizes tiny,small,medium] [--replicas 2]
        [--repeats 5] [--out benchmarks/results/weight_sync.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: name -> (hidden size, layers, heads, MLP width)
SIZES = {"tiny": (128, 2, 4, 384), "small": (512, 6, 8, 1536), "medium": (1024, 8, 16, 2816)}


def _checkpoint(root: Path, name: str) -> Path:
    from agentgym.models import TinyModelConfig, make_tiny_checkpoint

    hidden, layers, heads, mlp = SIZES[name]
    return make_tiny_checkpoint(root / name, env_ids=["agentgym/KeyDoor-v0"], episodes=4,
                                vocab_size=2048, config=TinyModelConfig(
                                    arch="llama", hidden_size=hidden, layers=layers,
                                    heads=heads, intermediate_size=mlp))


def _median_s(run, repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def _measure(path: Path, replicas: int, repeats: int) -> dict[str, Any]:
    from agentgym.policies.hf import HFPolicy
    from agentgym.policies.ray_policy import RayPolicy

    local = HFPolicy(str(path), temperature=0.0, device="cpu")
    params = sum(p.numel() for p in local.model.parameters())
    state = {k: v.clone() for k, v in local.model.state_dict().items()}
    megabytes = sum(v.numel() * v.element_size() for v in state.values()) / 2**20
    served = RayPolicy(policy={"name": "hf", "path": str(path), "temperature": 0.0,
                               "device": "cpu"}, replicas=replicas, num_cpus=0.5)
    try:
        rebuild = _median_s(lambda: HFPolicy(str(path), temperature=0.0, device="cpu"), repeats)
        by_dict = _median_s(lambda: served.sync_weights(state), repeats)
        by_folder = _median_s(lambda: served.sync_weights(path), repeats)
    finally:
        served.close()
    return {"parameters": params, "megabytes": megabytes, "rebuild_s": rebuild,
            "sync_state_dict_s": by_dict, "sync_folder_s": by_folder,
            "state_dict_mb_per_s": megabytes * replicas / by_dict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,small,medium")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/weight_sync.json")
    args = parser.parse_args()
    from agentgym.ray_envs import init_ray

    init_ray(scratch=tempfile.mkdtemp(prefix="agentgym-ray-"))
    result: dict[str, Any] = {"date": dt.datetime.now().isoformat(timespec="seconds"),
                              "argv": sys.argv[1:], "replicas": args.replicas,
                              "cpus": os.cpu_count(), "load_start": os.getloadavg(), "sizes": {}}
    with tempfile.TemporaryDirectory() as root:
        for name in args.sizes.split(","):
            print(f"{name} ...", file=sys.stderr, flush=True)
            result["sizes"][name] = _measure(_checkpoint(Path(root), name), args.replicas,
                                             args.repeats)
    result["load_end"] = os.getloadavg()
    lines = [f"| model | parameters | MB (fp32) | rebuild HFPolicy here s | sync {args.replicas} "
             "replicas, state dict s | state dict MB/s (all replicas) | sync, folder s | "
             "folder sync / rebuild |", "|---|---|---|---|---|---|---|---|"]
    for name, r in result["sizes"].items():
        lines.append(f"| {name} | {r['parameters'] / 1e6:.1f}M | {r['megabytes']:.0f} | "
                     f"{r['rebuild_s']:.3f} | {r['sync_state_dict_s']:.3f} | "
                     f"{r['state_dict_mb_per_s']:.0f} | {r['sync_folder_s']:.3f} | "
                     f"{r['sync_folder_s'] / r['rebuild_s']:.1f}x |")
    result["table"] = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(result["table"])


if __name__ == "__main__":
    main()
