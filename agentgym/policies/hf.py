"""``HFPolicy``: any transformers causal LM as an agent, with the token data trainers need.

The model and tokenizer load with ``from_pretrained`` (a local folder or a hub id). Each
:meth:`HFPolicy.act` builds one ReAct prompt per input, left-pads the batch and makes **one**
``generate`` call. Generation stops per row at the end of the ``Action:`` line (or at eos, or after
``max_new_tokens``). Each :class:`~agentgym.types.ActionOutput` carries the unpadded prompt ids,
exactly the generated ids up to and including the stop token, and their log-probabilities.

torch and transformers are imported when a policy is built, never when agentgym is imported.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentgym.errors import ConfigError
from agentgym.prompts import ReActFormat, checkpoint_format
from agentgym.types import ActionOutput, AgentInput

__all__ = [
    "AnswerEnd", "HFPolicy", "HFPolicyConfig", "answer_length", "answer_trie", "fit_prompt",
    "render_prompt",
]

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")
"""Allowed ``dtype`` settings of the models agentgym loads or trains."""
#: ``none``: free generation; ``admissible``: answers are one of the input's admissible actions.
_CONSTRAINTS = ("none", "admissible")
#: Same rule as ReActFormat.parse: the action follows an ``Action:``; its line's newline ends it.
_ACTION_LINE = re.compile(r"\baction\s*:[^\n]*\n", re.IGNORECASE)


@dataclass(kw_only=True)
class HFPolicyConfig:
    """Config of :class:`HFPolicy`."""

    path: str | None = None
    """Local checkpoint folder or hub id loaded with ``from_pretrained`` (required)."""
    temperature: float = 1.0
    """Sampling temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling mass (1.0 keeps every token)."""
    max_new_tokens: int = 64
    """Most tokens generated per action."""
    device: str = "auto"
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda``, ``cuda:1``, ..."""
    dtype: str = "auto"
    """``auto`` (bfloat16 on cuda, float32 on cpu), ``float32``, ``bfloat16`` or ``float16``."""
    history_turns: int | None = None
    """Past turns shown in the prompt (fewer when the prompt would exceed max_prompt_tokens).
    This and the other prompt fields left ``None`` take the checkpoint's saved prompt settings
    (``agentgym_prompt.json``, written by the trainers), else ReActFormat's defaults (8 turns)."""
    max_prompt_tokens: int = 2048
    """Longest prompt; also capped by the model's context minus max_new_tokens."""
    seed: int = 0
    """Seed of the policy's own sampling random stream."""
    think: bool | None = None
    """Ask for a ``Thought:`` line before the ``Action:`` line (default: yes)."""
    history_style: str | None = None
    """``inline`` or ``chat`` history (see :mod:`agentgym.prompts`; default inline)."""
    max_admissible: int | None = None
    """Most admissible actions listed in the prompt; 0 lists none (default 50)."""
    constrain: str = "none"
    """``none``, or ``admissible``: decoding may only spell one of the input's admissible
    actions (where it lists any), with ``think`` off."""

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError(
                "policy.path",
                "missing: the hf policy needs a model checkpoint.",
                "pass policy.path=<local folder or hub id>; for a tiny local model run "
                "`agentgym model init runs/tiny` and use policy.path=runs/tiny.",
            )
        check_model_policy_fields(self)
        if self.constrain not in _CONSTRAINTS:
            raise ConfigError("policy.constrain", f"{self.constrain!r} is not a constraint.",
                              f"use one of: {', '.join(_CONSTRAINTS)}.")


def check_model_policy_fields(config: Any) -> None:
    """Checks shared by model-backed policy configs (HF, vLLM): sampling, lengths, prompt, dtype."""
    if config.temperature < 0:
        raise ConfigError("policy.temperature", f"must be >= 0, got {config.temperature}.",
                          "use 0 for greedy or 1.0 to sample.")
    if not 0 < config.top_p <= 1:
        raise ConfigError("policy.top_p", f"must be in (0, 1], got {config.top_p}.", "use 1.0.")
    for name in ("max_new_tokens", "max_prompt_tokens"):
        if getattr(config, name) < 1:
            raise ConfigError(f"policy.{name}", f"must be >= 1, got {getattr(config, name)}.")
    for name in ("history_turns", "max_admissible"):
        if (getattr(config, name) or 0) < 0:
            raise ConfigError(f"policy.{name}", f"must be >= 0, got {getattr(config, name)}.")
    if config.dtype not in DTYPES:
        raise ConfigError("policy.dtype", f"{config.dtype!r} is not a dtype.",
                          f"use one of: {', '.join(DTYPES)}.")


def render_prompt(tokenizer, messages: Sequence[dict[str, str]]) -> list[int]:
    """Token ids of chat ``messages`` with a generation prompt.

    The tokenizer's chat template when it has one; otherwise the message contents joined by
    blank lines (plus a trailing blank line). Trainers call this to see exactly what
    :class:`HFPolicy` feeds the model.
    """
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True,
                                             tokenize=False)
    else:
        text = "\n\n".join(m["content"] for m in messages) + "\n\n"
    # The template already holds any bos/special tokens the model expects.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render_turns(tokenizer, fmt: ReActFormat, inp: AgentInput, turns: int) -> list[int]:
    """Prompt ids for ``inp`` showing at most ``turns`` history turns."""
    if turns != fmt.history_turns:
        fmt = fmt.with_history(turns)
    return render_prompt(tokenizer, fmt.messages(inp))


def fit_prompt(
    tokenizer, fmt: ReActFormat, inp: AgentInput, max_prompt_tokens: int
) -> tuple[list[int], bool]:
    """Prompt ids for ``inp`` in at most ``max_prompt_tokens`` tokens, and whether it was cut.

    Keeps the most history turns that fit (dropping the oldest); if even no history is too long,
    keeps the last ``max_prompt_tokens`` tokens. A prompt's length grows with the turns it shows,
    so the search guesses the count from the full prompt's excess, then gallops and bisects:
    about three renders instead of one per dropped turn.
    """
    rendered: dict[int, list[int]] = {}

    def fits(turns: int) -> bool:
        if turns not in rendered:
            rendered[turns] = _render_turns(tokenizer, fmt, inp, turns)
        return len(rendered[turns]) <= max_prompt_tokens

    wanted = min(fmt.history_turns, len(inp.history))
    if fits(wanted):
        return rendered[wanted], False
    if wanted == 0 or not fits(0):
        ids = rendered[0]
        log.warning("prompt of %d tokens cut to its last %d", len(ids), max_prompt_tokens)
        return ids[-max_prompt_tokens:], True
    # fits(0) and not fits(wanted): find the largest count that fits. First guess: drop turns in
    # proportion to the excess, as if every turn were as long as the average one.
    per_turn = max(1.0, (len(rendered[wanted]) - len(rendered[0])) / wanted)
    excess = len(rendered[wanted]) - max_prompt_tokens
    guess = min(wanted - 1, max(0, wanted - math.ceil(excess / per_turn)))
    if fits(guess):  # gallop up from the guess: lo fits, hi does not
        lo, step, hi = guess, 1, wanted
        while lo + step < hi and fits(lo + step):
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step)
    else:  # gallop down
        hi, step, lo = guess, 1, 0
        while hi - step > lo and not fits(hi - step):
            hi, step = hi - step, step * 2
        lo = max(lo, hi - step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return rendered[lo], True


class AnswerEnd:
    """Finds where a generated answer ends, fed one token at a time.

    An answer ends at an eos token (kept) or at the first newline that ends an ``Action:`` line
    (kept); what follows is not part of the answer. Shared by every token backend so they cut
    answers at the same token.
    """

    def __init__(self, tokenizer, eos_ids: set[int]) -> None:
        self.tokenizer, self.eos_ids = tokenizer, eos_ids
        self.text = ""

    def feed(self, token: int) -> str | None:
        """``"eos"`` or ``"action_line"`` when ``token`` ends the answer, else ``None``."""
        if token in self.eos_ids:
            return "eos"
        # Decoding token by token may split a multi-byte character; the rule only looks at
        # ASCII ("Action:" and "\n"), which byte-level tokens never split.
        self.text += self.tokenizer.decode([token])
        if "\n" in self.text and _ACTION_LINE.search(self.text):
            return "action_line"
        return None


def answer_length(tokenizer, token_ids: Sequence[int], eos_ids: set[int]) -> tuple[int, str]:
    """How many of ``token_ids`` form the answer, and why it ends (``length`` if it never does)."""
    end = AnswerEnd(tokenizer, eos_ids)
    for i, token in enumerate(token_ids):
        reason = end.feed(token)
        if reason is not None:
            return i + 1, reason
    return len(token_ids), "length"


def _stopping_criteria_class():
    from transformers import StoppingCriteria

    class ActionLineStop(StoppingCriteria):
        """Per row: done where :class:`AnswerEnd` says the answer ends.

        Remembers where each row stopped (``stop_at``: number of generated tokens), so the
        caller can cut the padding that ``generate`` appends to finished rows.
        """

        def __init__(self, tokenizer, prompt_len: int, batch: int, eos_ids: set[int]) -> None:
            self.prompt_len = prompt_len
            self.ends = [AnswerEnd(tokenizer, eos_ids) for _ in range(batch)]
            self.stop_at: list[int | None] = [None] * batch
            self.reasons = ["length"] * batch

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            n = input_ids.shape[1] - self.prompt_len
            for row, token in enumerate(input_ids[:, -1].tolist()):
                if self.stop_at[row] is None:
                    reason = self.ends[row].feed(token)
                    if reason is not None:
                        self.stop_at[row], self.reasons[row] = n, reason
            done = [s is not None for s in self.stop_at]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return ActionLineStop


class HFPolicy:
    """A transformers causal LM acting through ReAct prompts, batched.

    The prompt is the tokenizer's chat template applied to ``ReActFormat(...).messages(inp)``
    (with the generation prompt), or, for a tokenizer without a template, the system and user
    texts joined by blank lines. When a prompt is longer than ``max_prompt_tokens``, the oldest
    history turns are dropped first; only if that is not enough are tokens cut from the left.

    ``action_logprobs`` are the log-probabilities of the generated tokens under the model itself:
    ``log_softmax`` of the raw logits, *before* temperature and top-p. They equal what a trainer
    recomputes with a forward pass on ``prompt_ids + action_ids`` (the quantity PPO's ratio and
    the KL term need), not the probabilities of the warped sampling distribution.

    Args:
        path: Local checkpoint folder or hub id.
        temperature: Sampling temperature; 0 is greedy.
        top_p: Nucleus sampling mass.
        max_new_tokens: Most tokens generated per action.
        device: ``auto``, ``cpu``, ``cuda``, ...
        dtype: ``auto`` (bfloat16 on cuda, float32 on cpu) or a dtype name.
        history_turns: Past turns shown in the prompt.
        max_prompt_tokens: Longest prompt in tokens.
        seed: Seed of the policy's own random stream (the global torch stream is untouched).
        think: Ask for a thought before the action.
        history_style: ``inline`` or ``chat`` history.
        max_admissible: Most admissible actions listed.
        constrain: ``admissible`` restricts decoding to the input's admissible actions: at each
            token only continuations of some admissible action (as the bare action or its
            ``Action:`` line) and, once one is complete, eos are allowed. The model's
            distribution is renormalised over those tokens; ``action_logprobs`` stay the
            unconstrained model's, as ever. Needs ``think`` off; inputs listing no admissible
            actions decode freely.

    Prompt arguments left ``None`` come from the checkpoint's ``agentgym_prompt.json`` (what it
    was trained with), else from :class:`~agentgym.prompts.ReActFormat`'s defaults.
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_new_tokens: int = 64,
        device: str = "auto",
        dtype: str = "auto",
        history_turns: int | None = None,
        max_prompt_tokens: int = 2048,
        seed: int = 0,
        think: bool | None = None,
        history_style: str | None = None,
        max_admissible: int | None = None,
        constrain: str = "none",
    ) -> None:
        config = HFPolicyConfig(
            path=path, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
            device=device, dtype=dtype, history_turns=history_turns,
            max_prompt_tokens=max_prompt_tokens, seed=seed, think=think,
            history_style=history_style, max_admissible=max_admissible, constrain=constrain,
        )
        self.config = config
        self.tokenizer, self.model = _load(config)
        self.device = self.model.device
        self.format = checkpoint_format(
            config.path, think=think, history_turns=history_turns, history_style=history_style,
            max_admissible=max_admissible)
        if constrain != "none" and self.format.think:
            raise ConfigError("policy.constrain", "constrained decoding needs think=false.",
                              "set policy.think=false (or policy.constrain=none).")
        context = getattr(self.model.config, "max_position_embeddings", None)
        self.max_prompt_tokens = max_prompt_tokens
        if context:
            self.max_prompt_tokens = max(1, min(max_prompt_tokens, context - max_new_tokens))
        self.eos_ids = eos_ids(self.tokenizer, self.model.generation_config.eos_token_id)
        self.pad_id = (self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
                       else min(self.eos_ids))
        self.reseed(seed)

    # --- prompts -------------------------------------------------------------------------------

    def _render(self, inp: AgentInput, history_turns: int) -> list[int]:
        return _render_turns(self.tokenizer, self.format, inp, history_turns)

    def render_messages(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """Token ids of chat ``messages`` with a generation prompt (the chat template if any)."""
        return render_prompt(self.tokenizer, messages)

    def complete(
        self,
        conversations: Sequence[Sequence[dict[str, str]]],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_new_tokens: int | None = None,
    ) -> list[str]:
        """Generate a reply to each chat in one batched call (what ``agentgym serve`` runs).

        Sampling settings default to the policy's; generation stops at the end of the
        ``Action:`` line as in :meth:`act`. Prompts longer than ``max_prompt_tokens`` keep their
        last tokens.
        """
        if not conversations:
            return []
        overrides = {k: v for k, v in (("temperature", temperature), ("top_p", top_p),
                                       ("max_new_tokens", max_new_tokens)) if v is not None}
        prompts = [self.render_messages(m)[-self.max_prompt_tokens:] for m in conversations]
        generated, _, stops = self._generate(prompts, **overrides)
        return [self.tokenizer.decode(ids[:n], skip_special_tokens=True)
                for ids, (n, _) in zip(generated, stops)]

    def prompt_ids(self, inp: AgentInput) -> tuple[list[int], bool]:
        """Token ids of the prompt for ``inp`` and whether it had to be cut (see :func:`fit_prompt`)."""
        return fit_prompt(self.tokenizer, self.format, inp, self.max_prompt_tokens)

    # --- acting --------------------------------------------------------------------------------

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        """One action per input, from one batched ``generate`` call."""
        if not batch:
            return []
        prompts = [self.prompt_ids(inp) for inp in batch]
        tries = None
        if self.config.constrain == "admissible":
            tries = [self._answer_trie(inp.admissible_actions) for inp in batch]
        generated, logprobs, stops = self._generate([ids for ids, _ in prompts], tries=tries)
        out = []
        for (ids, cut), gen, lps, (n, reason) in zip(prompts, generated, logprobs, stops):
            action_ids = gen[:n]
            text = self.tokenizer.decode(action_ids, skip_special_tokens=True)
            out.append(ActionOutput(
                text=text,
                action=self.format.parse(text),
                prompt_ids=ids,
                action_ids=action_ids,
                action_logprobs=lps[:n],
                meta={"finish_reason": reason, "prompt_truncated": cut},
            ))
        return out

    def _answer_trie(self, actions: Sequence[str]) -> dict | None:
        """Token trie of the answers spelling one of ``actions`` (then eos); None if no actions."""
        eos = self.tokenizer.eos_token_id
        return answer_trie(self.tokenizer, self.format, actions,
                           eos if eos is not None else min(self.eos_ids))

    def _generate(self, prompts: list[list[int]], *, tries: list[dict | None] | None = None,
                  **overrides: Any):
        """Left-pad, generate once, and return per row: ids, log-probs, (length, finish reason)."""
        import torch

        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention[row, width - len(ids):] = 1
        stop = _stopping_criteria_class()(self.tokenizer, width, len(prompts), self.eos_ids)
        from transformers import LogitsProcessorList, StoppingCriteriaList

        processors = LogitsProcessorList()
        if tries and any(t is not None for t in tries):
            processors.append(_trie_processor_class()(tries, width))

        with torch.random.fork_rng(devices=self._rng_devices()), torch.inference_mode():
            self._set_rng()
            result = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=self._generation_config(**overrides),
                stopping_criteria=StoppingCriteriaList([stop]),
                logits_processor=processors,
            )
            self._rng_state = self._get_rng()
            new = result.sequences[:, width:]
            # Raw logits (before temperature / top-p): the policy's own log-probabilities.
            logits = torch.stack(result.logits, dim=1).float()
            logprobs = torch.log_softmax(logits, dim=-1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
        generated, lps = new.tolist(), logprobs.tolist()
        stops = [(n if n is not None else len(generated[0]), reason)
                 for n, reason in zip(stop.stop_at, stop.reasons)]
        return generated, lps, stops

    def _generation_config(self, **overrides: Any):
        from transformers import GenerationConfig

        c = dataclasses.replace(self.config, **overrides) if overrides else self.config
        kwargs: dict[str, Any] = {
            "max_new_tokens": c.max_new_tokens,
            "eos_token_id": sorted(self.eos_ids),
            "pad_token_id": self.pad_id,
            "do_sample": c.temperature > 0,
            "return_dict_in_generate": True,
            "output_logits": True,
        }
        if c.temperature > 0:  # top_k=0: only temperature and top-p shape the distribution
            kwargs.update(temperature=c.temperature, top_p=c.top_p, top_k=0)
        return GenerationConfig(**kwargs)

    # --- weights ------------------------------------------------------------------------------

    def load_weights(self, source: Any) -> None:
        """Replace the model's weights in place: a state dict, or a checkpoint folder of the
        same architecture (the weight sync of a rollout engine between training iterations).

        Raises:
            ConfigError: The weights do not fit the model (other names or shapes).
        """
        import torch

        if isinstance(source, (str, os.PathLike)):
            from transformers import AutoModelForCausalLM

            source = AutoModelForCausalLM.from_pretrained(source, dtype=self.model.dtype
                                                          ).state_dict()
        try:
            with torch.no_grad():
                self.model.load_state_dict(dict(source), strict=True)
        except RuntimeError as exc:
            raise ConfigError("weights", f"they do not fit this policy's model: {exc}",
                              "sync weights of the checkpoint this policy was built from, "
                              "trained further.") from exc

    # --- the policy's own random stream --------------------------------------------------------

    def reseed(self, seed: int) -> None:
        """Restart the policy's sampling stream from ``seed`` (as if built with ``seed=seed``)."""
        self._rng_state = _seeded_rng_state(seed, self.device)

    def _rng_devices(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    def _set_rng(self) -> None:
        import torch

        cpu, cuda = self._rng_state
        torch.random.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state(cuda, self.device)

    def _get_rng(self):
        import torch

        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return torch.random.get_rng_state(), cuda


def answer_trie(tokenizer, fmt: ReActFormat, actions: Sequence[str], eos_id: int) -> dict | None:
    """Token trie (nested ``{token: children}``) of the answers that spell one of ``actions``,
    bare or as ``fmt`` renders it, each followed by ``eos_id``; ``None`` when there are no
    actions. What ``constrain=admissible`` decodes along, and what trainers renormalise over."""
    if not actions:
        return None
    texts = list(dict.fromkeys(t for a in actions for t in (a, fmt.render_action(a))))
    trie: dict = {}
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:  # one batched call
        node = trie
        for t in [*ids, eos_id]:
            node = node.setdefault(t, {})
    return trie


def _trie_processor_class():
    """A LogitsProcessor keeping each row on its token trie (built lazily: transformers import)."""
    import torch
    from transformers import LogitsProcessor

    class TrieConstraint(LogitsProcessor):
        """Row ``i`` may only continue along ``tries[i]`` (a ``None`` trie leaves it free)."""

        def __init__(self, tries: list[dict | None], start: int) -> None:
            self.tries, self.start = tries, start

        def __call__(self, input_ids, scores):
            scores = scores.clone()  # generate keeps the incoming tensor as the raw logits
            for row, trie in enumerate(self.tries):
                node = trie
                for t in input_ids[row, self.start:].tolist():
                    node = node.get(t) if node else None
                if not node:  # no constraint, or the row is done (eos taken)
                    continue
                allowed = torch.tensor(list(node), device=scores.device)
                kept = scores[row, allowed].clone()
                scores[row] = float("-inf")
                scores[row, allowed] = kept
            return scores

    return TrieConstraint


def _seeded_rng_state(seed: int, device):
    import torch

    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
        return torch.random.get_rng_state(), cuda


def eos_ids(tokenizer, generation_eos: int | Sequence[int] | None = None) -> set[int]:
    """End-of-answer token ids: the model's generation config's and the tokenizer's eos."""
    ids: set[int] = set()
    for source in (generation_eos, tokenizer.eos_token_id):
        if source is None:
            continue
        ids.update(source if isinstance(source, (list, tuple)) else [source])
    return ids


def resolve_device(device: str, dtype: str = "auto") -> tuple[str, str]:
    """``(device, dtype)`` with ``auto`` made concrete: cuda when available (else cpu), and
    bfloat16 on cuda (else float32)."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return device, dtype


def _load(config: HFPolicyConfig):
    """Tokenizer and model from ``config.path``, on the chosen device and dtype, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device, dtype = resolve_device(config.device, config.dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.path)
        model = AutoModelForCausalLM.from_pretrained(config.path, dtype=getattr(torch, dtype))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "policy.path",
            f"cannot load a causal LM from {config.path!r}: {exc}",
            "give a folder written by save_pretrained (config.json, weights, tokenizer) or a "
            "hub id that is reachable; `agentgym model init runs/tiny` makes one.",
        ) from exc
    return tokenizer, model.to(device).eval()
