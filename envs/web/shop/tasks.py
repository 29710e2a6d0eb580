"""WebShop-style tasks over the catalogue: instructions, the purchase reward, splits and subgoals.

A task names a target product and asks, in words, for its product type, some of its attributes,
one value of each of its option groups and a price bound above its price ("i'm looking for a
waterproof, lightweight hiking boot in black, size 9, and price lower than 80.00 dollars").

Splits: the catalogue's products are divided once by a hash of their id into target pools
(about a quarter for ``test``), so ``train`` and ``test`` targets never overlap. Task ``i`` of a
split is drawn with seed ``i``; ``test`` is the 200 tasks of seeds 0–199 (:func:`test_tasks`);
``train`` has a task for every seed.

The reward (:func:`score_purchase`) follows WebShop's: a product-type factor times the share of
goal attributes, goal options and the price bound that the purchase meets. Products other than the
target can score 1.0: any product of the same type that has every goal attribute, offers every
goal option and costs less than the bound, bought with the goal options chosen.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import ceil

import numpy as np

from agentgym.envs.web.shop.catalog import Catalog, Product, article, noun_phrase
from agentgym.errors import ConfigError, UnknownNameError

__all__ = [
    "N_TEST", "SPLITS", "WebTask", "full_matches", "generate_task", "make_task",
    "matches_goal", "score_purchase", "subgoal_names", "subgoals_done", "target_pool",
    "test_tasks",
]

SPLITS = ("train", "test")
#: Tasks in the test split.
N_TEST = 200
#: Type factor of the reward: same product type, same category only, anything else.
TYPE_FACTORS = {"type": 1.0, "category": 0.5, "other": 0.1}
_TEMPLATES = (
    "i'm looking for {a} {item}{options}, and price lower than {price} dollars",
    "i need {a} {item}{options}, and price lower than {price} dollars",
    "find me {a} {item}{options}, with price lower than {price} dollars",
    "i want to buy {a} {item}{options}, and it should cost less than {price} dollars",
    "show me {a} {item}{options}, priced lower than {price} dollars",
)
_OPTION_PHRASES = {
    "size": "size {}", "color": "in {}", "pack": "{}", "flavor": "{} flavor", "scent": "{} scent",
    "capacity": "{} capacity", "style": "{} style", "weight": "{} weight", "model": "for {}",
    "thickness": "{} thick",
}
#: Product types asked for with "some" rather than "a".
_MASS_TYPES = frozenset({"jeans", "leggings", "crew socks", "coffee beans", "green tea",
                         "trail mix", "olive oil", "dark chocolate", "dry dog food", "cat litter"})


@dataclass(frozen=True)
class WebTask:
    """One shopping task.

    Attributes:
        task_id: ``'webshop-<split>-<seed>'``.
        split: ``'train'`` or ``'test'``.
        instruction: What the agent is asked, lower case.
        target_pid: The product the task was drawn from (one of possibly several that score 1).
        product_type: The goal product type (the target's).
        category: The goal category (the target's).
        attributes: Goal attributes, a subset of the target's.
        options: Goal options, one value of each of the target's option groups.
        price_upper: The price must be lower than this (above the target's price).
    """

    task_id: str
    split: str
    instruction: str
    target_pid: str
    product_type: str
    category: str
    attributes: tuple[str, ...]
    options: dict[str, str]
    price_upper: float


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise UnknownNameError("split", split, SPLITS)


@lru_cache(maxsize=8)
def _pools(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    test = tuple(pid for pid in catalog.pids if zlib.crc32(pid.encode()) % 4 == 0)
    taken = set(test)
    return {"test": test, "train": tuple(pid for pid in catalog.pids if pid not in taken)}


def target_pool(catalog: Catalog, split: str) -> tuple[str, ...]:
    """The product ids that tasks of ``split`` may target (the two pools are disjoint)."""
    _check_split(split)
    return _pools(catalog)[split]


def _price_bound(price: float, rng: np.random.Generator) -> float:
    """The price × 1.1–1.8 rounded up: to dollars, to fives from $10 and to tens from $50."""
    raw = price * rng.uniform(1.1, 1.8)
    step = 10 if raw >= 50 else 5 if raw >= 10 else 1
    return float(max(ceil(raw / step) * step, ceil(price) + 1))


def _instruction(rng: np.random.Generator, product: Product, attributes: Sequence[str],
                 options: Mapping[str, str], price: float) -> str:
    item = noun_phrase(product.product_type, attributes)
    phrases = [_OPTION_PHRASES.get(g, g + " {}").format(v) for g, v in options.items()]
    order = rng.permutation(len(phrases)).tolist()
    phrases = [phrases[i] for i in order]
    said = ""
    if phrases:
        said = (" " if phrases[0].startswith(("in ", "for ")) else ", ") + ", ".join(phrases)
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    a = "some" if product.product_type in _MASS_TYPES else article(item)
    return template.format(a=a, item=item, options=said, price=f"{price:.2f}")


def generate_task(catalog: Catalog, rng: np.random.Generator, *, split: str = "train",
                  task_id: str = "webshop-custom") -> WebTask:
    """Draw a task whose target comes from ``split``'s pool.

    Args:
        catalog: The shop's products.
        rng: Source of every random choice.
        split: ``'train'`` or ``'test'``.
        task_id: The id to give the task.

    Raises:
        ConfigError: The split's pool is empty (a catalogue far too small).
    """
    pool = target_pool(catalog, split)
    if not pool:
        raise ConfigError("n", f"the catalogue's {len(catalog)} products leave no {split} "
                               "targets.", "use a catalogue of at least 100 products.")
    product = catalog[pool[int(rng.integers(len(pool)))]]
    k = int(rng.integers(1, min(3, len(product.attributes)) + 1))
    chosen = sorted(rng.choice(len(product.attributes), size=k, replace=False).tolist())
    attributes = tuple(product.attributes[i] for i in chosen)
    options = {g: values[int(rng.integers(len(values)))] for g, values in product.options.items()}
    price = _price_bound(product.price, rng)
    return WebTask(
        task_id=task_id, split=split,
        instruction=_instruction(rng, product, attributes, options, price),
        target_pid=product.pid, product_type=product.product_type, category=product.category,
        attributes=attributes, options=options, price_upper=price,
    )


def make_task(catalog: Catalog, *, split: str, seed: int) -> WebTask:
    """Task ``seed`` of ``split``: :func:`generate_task` with ``np.random.default_rng(seed)``."""
    return generate_task(catalog, np.random.default_rng(seed), split=split,
                         task_id=f"webshop-{split}-{seed}")


@lru_cache(maxsize=8)
def test_tasks(catalog: Catalog) -> tuple[WebTask, ...]:
    """The fixed test split: tasks of seeds ``0`` to ``N_TEST - 1`` (the same on every call)."""
    return tuple(make_task(catalog, split="test", seed=i) for i in range(N_TEST))


test_tasks.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


# ----------------------------------------------------------------------------- reward
def _type_factor(task: WebTask, product: Product) -> float:
    if product.product_type == task.product_type:
        return TYPE_FACTORS["type"]
    return TYPE_FACTORS["category" if product.category == task.category else "other"]


def _item_terms(task: WebTask, product: Product, chosen: Mapping[str, str]) -> dict[str, float]:
    return {
        "type": _type_factor(task, product),
        "attributes": float(sum(a in product.attributes for a in task.attributes)),
        "options": float(sum(chosen.get(g) == v and v in product.options.get(g, ())
                             for g, v in task.options.items())),
        "price": float(product.price < task.price_upper),
    }


def _item_reward(task: WebTask, terms: Mapping[str, float]) -> float:
    met = terms["attributes"] + terms["options"] + terms["price"]
    return terms["type"] * met / (len(task.attributes) + len(task.options) + 1)


def score_purchase(task: WebTask, catalog: Catalog,
                   purchase: Sequence[tuple[str, Mapping[str, str]]] | None
                   ) -> tuple[float, dict[str, float]]:
    """The reward of a purchase, WebShop's way.

    For one bought item::

        reward = type × (attributes + options + price)
                 / (len(task.attributes) + len(task.options) + 1)

    where ``type`` is 1.0 for the goal product type, 0.5 for another type of the goal category and
    0.1 otherwise; ``attributes`` counts goal attributes the product has; ``options`` counts goal
    options chosen at purchase (and offered by the product); ``price`` is 1 when the product costs
    less than ``task.price_upper``. Buying several items scores the best one divided by the number
    bought; buying nothing scores 0. A reward of 1.0 is success; products other than the target
    can reach it (see the module docstring).

    Args:
        task: The task.
        catalog: The shop's products.
        purchase: ``(pid, chosen options)`` per bought item (``SessionState.purchase``), or
            ``None`` / empty for no purchase.

    Returns:
        ``(reward, terms)``: the terms of the best item (``type``, ``attributes``, ``options``,
        ``price``) and ``items``, the number bought; all zero when nothing was bought.
    """
    if not purchase:
        return 0.0, {"type": 0.0, "attributes": 0.0, "options": 0.0, "price": 0.0, "items": 0.0}
    best_reward, best_terms = -1.0, {}
    for pid, chosen in purchase:
        terms = _item_terms(task, catalog[pid], chosen)
        reward = _item_reward(task, terms)
        if reward > best_reward:
            best_reward, best_terms = reward, terms
    return best_reward / len(purchase), {**best_terms, "items": float(len(purchase))}


def matches_goal(task: WebTask, product: Product) -> bool:
    """Whether buying ``product`` with the goal options chosen would score 1.0."""
    return (
        product.product_type == task.product_type
        and all(a in product.attributes for a in task.attributes)
        and all(v in product.options.get(g, ()) for g, v in task.options.items())
        and product.price < task.price_upper
    )


def full_matches(task: WebTask, catalog: Catalog) -> tuple[str, ...]:
    """Ids of every product that fully matches the goal, in catalogue order (the target too)."""
    return _full_matches(catalog, task.product_type, task.attributes,
                         tuple(task.options.items()), task.price_upper)


@lru_cache(maxsize=1024)  # asked at every step of an episode; keyed by what decides it
def _full_matches(catalog: Catalog, product_type: str, attributes: tuple[str, ...],
                  options: tuple[tuple[str, str], ...], price_upper: float) -> tuple[str, ...]:
    goal = WebTask("", "", "", "", product_type, "", attributes, dict(options), price_upper)
    return tuple(p.pid for p in catalog.by_type(product_type) if matches_goal(goal, p))


# --------------------------------------------------------------------------- subgoals
def subgoal_names(task: WebTask) -> list[str]:
    """The task's checklist: ``search``, ``open``, ``option:<group>`` per goal option, ``buy``."""
    return ["search", "open", *(f"option:{g}" for g in task.options), "buy"]


def subgoals_done(task: WebTask, catalog: Catalog, session: object) -> dict[str, bool]:
    """Which subgoals the session has reached so far (once reached, a subgoal stays reached).

    - ``search``: a results page showed a fully matching product (:func:`full_matches`);
    - ``open``: the page of a fully matching product was viewed (any tab);
    - ``option:<group>``: a fully matching product's page was viewed with the goal value of
      ``group`` chosen;
    - ``buy``: the purchase scored 1.0.

    Args:
        task: The task.
        catalog: The shop's products.
        session: A :class:`~agentgym.envs.web.shop.app.SessionState` (anything with its
            ``events`` and ``purchase``).

    Returns:
        Subgoal name → reached, in :func:`subgoal_names` order.
    """
    full = set(full_matches(task, catalog))
    done = dict.fromkeys(subgoal_names(task), False)
    for event in session.events:  # type: ignore[attr-defined]
        if event.kind == "search" and full.intersection(event.pids):
            done["search"] = True
        elif event.kind == "view" and event.pid in full:
            done["open"] = True
            for group, value in task.options.items():
                if event.options.get(group) == value:
                    done[f"option:{group}"] = True
    purchase = session.purchase  # type: ignore[attr-defined]
    done["buy"] = score_purchase(task, catalog, purchase)[0] >= 1.0
    return done
