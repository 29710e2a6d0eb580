"""WebShop-style tasks: splits, instructions, the purchase reward and the subgoal checklist."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pytest

import agentgym.envs.web.shop.tasks as tasks
from agentgym.envs.web.shop import Catalog, Product, ShopApp, generate_catalog
from agentgym.errors import UnknownNameError


def _product(pid: str, product_type: str, category: str, attributes: tuple[str, ...],
             options: dict[str, tuple[str, ...]], price: float) -> Product:
    return Product(
        pid=pid, title=f"Acme {pid} {product_type}", category=category, product_type=product_type,
        brand="Acme", attributes=attributes, options=options, price=price, rating=4.0,
        description=f"A {' '.join(attributes)} {product_type}.", features=(), reviews=(),
    )


BOOT = _product("B0TARGET01", "hiking boot", "shoes", ("waterproof", "lightweight", "leather"),
                {"size": ("8", "9", "10"), "color": ("black", "brown")}, 70.0)
TWIN = _product("B0TWIN0002", "hiking boot", "shoes", ("lightweight", "waterproof"),
                {"size": ("9", "10"), "color": ("black",)}, 60.0)
PRICEY = _product("B0PRICEY03", "hiking boot", "shoes", ("waterproof",),
                  {"size": ("9",), "color": ("black", "brown")}, 90.0)
RUNNER = _product("B0RUNNER04", "running shoe", "shoes", ("lightweight",),
                  {"size": ("9",), "color": ("black",)}, 50.0)
SHIRT = _product("B0SHIRT005", "t-shirt", "clothing", ("lightweight",),
                 {"size": ("large",)}, 10.0)
SMALL = Catalog([BOOT, TWIN, PRICEY, RUNNER, SHIRT])
TASK = tasks.WebTask(
    task_id="hand-made", split="test", target_pid=BOOT.pid, product_type="hiking boot",
    category="shoes", attributes=("waterproof", "lightweight"),
    options={"size": "9", "color": "black"}, price_upper=80.0,
    instruction="i'm looking for a waterproof, lightweight hiking boot in black, size 9, and "
                "price lower than 80.00 dollars",
)
GOAL = {"size": "9", "color": "black"}


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog(n=1200, seed=0)


# --------------------------------------------------------------------------------- reward
@pytest.mark.parametrize(("purchase", "reward"), [
    ([(BOOT.pid, GOAL)], 1.0),                        # 1 × (2 + 2 + 1) / 5
    ([(TWIN.pid, GOAL)], 1.0),                        # another product can score 1 too
    ([(BOOT.pid, {"size": "9"})], 0.8),               # 1 × (2 + 1 + 1) / 5
    ([(BOOT.pid, {"size": "10"})], 0.6),              # 1 × (2 + 0 + 1) / 5
    ([(BOOT.pid, {})], 0.6),
    ([(PRICEY.pid, GOAL)], 0.6),                      # 1 × (1 + 2 + 0) / 5
    ([(RUNNER.pid, GOAL)], 0.4),                      # 0.5 × (1 + 2 + 1) / 5, same category
    ([(SHIRT.pid, {"size": "large"})], 0.04),         # 0.1 × (1 + 0 + 1) / 5
    ([(RUNNER.pid, GOAL), (BOOT.pid, GOAL)], 0.5),    # best item / 2 items
    ([(TWIN.pid, {"color": "brown"})], 0.6),          # an option the product lacks never counts
    ([], 0.0),
    (None, 0.0),
])
def test_score_purchase_by_hand(purchase, reward):
    got, terms = tasks.score_purchase(TASK, SMALL, purchase)
    assert got == pytest.approx(reward)
    if purchase:
        n = len(TASK.attributes) + len(TASK.options) + 1
        recomputed = terms["type"] * (terms["attributes"] + terms["options"] + terms["price"]) / n
        assert recomputed / terms["items"] == pytest.approx(got)
    else:
        assert set(terms.values()) == {0.0}


def test_score_terms_name_the_best_item():
    reward, terms = tasks.score_purchase(TASK, SMALL, [(RUNNER.pid, GOAL), (BOOT.pid, GOAL)])
    assert terms == {"type": 1.0, "attributes": 2.0, "options": 2.0, "price": 1.0, "items": 2.0}
    _, terms = tasks.score_purchase(TASK, SMALL, [(RUNNER.pid, GOAL)])
    assert terms == {"type": 0.5, "attributes": 1.0, "options": 2.0, "price": 1.0, "items": 1.0}


def test_full_matches_lists_every_product_that_can_score_one():
    assert tasks.full_matches(TASK, SMALL) == (BOOT.pid, TWIN.pid)
    assert tasks.matches_goal(TASK, TWIN) and not tasks.matches_goal(TASK, PRICEY)


# --------------------------------------------------------------------------------- splits
def test_test_split_is_fixed_and_disjoint_from_train(catalog):
    test = tasks.test_tasks(catalog)
    assert len(test) == tasks.N_TEST == 200 and test is tasks.test_tasks(catalog)
    assert test == tasks.test_tasks(generate_catalog(n=1200, seed=0))  # a fresh catalogue too
    assert [t.task_id for t in test] == [f"webshop-test-{i}" for i in range(200)]
    assert test[17] == tasks.make_task(catalog, split="test", seed=17)
    test_pool = set(tasks.target_pool(catalog, "test"))
    train_pool = set(tasks.target_pool(catalog, "train"))
    assert not test_pool & train_pool and test_pool | train_pool == set(catalog.pids)
    assert {t.target_pid for t in test} <= test_pool
    train = [tasks.make_task(catalog, split="train", seed=s) for s in range(400)]
    assert {t.target_pid for t in train} <= train_pool
    assert not {t.target_pid for t in train} & {t.target_pid for t in test}
    rng_task = tasks.generate_task(catalog, np.random.default_rng(5), split="train")
    assert rng_task.target_pid in train_pool
    with pytest.raises(UnknownNameError, match="test"):
        tasks.make_task(catalog, split="tset", seed=0)


def test_tasks_ask_for_their_target(catalog):
    test = tasks.test_tasks(catalog)
    for task in test:
        target = catalog[task.target_pid]
        assert (task.product_type, task.category) == (target.product_type, target.category)
        assert 1 <= len(task.attributes) <= 3 and set(task.attributes) <= set(target.attributes)
        assert list(task.options) == list(target.options)
        assert all(v in target.options[g] for g, v in task.options.items())
        assert task.price_upper > target.price
        text = task.instruction
        assert text == text.lower() and task.product_type in text
        assert f"{task.price_upper:.2f} dollars" in text
        assert all(a.split()[-1] in text for a in task.attributes)
        assert all(v in text for v in task.options.values())
        assert target.pid in tasks.full_matches(task, catalog)
        assert tasks.score_purchase(task, catalog, [(target.pid, task.options)])[0] == 1.0
    openings = {t.instruction.split(" a")[0].split(" some")[0] for t in test}
    assert len(openings) >= 4


# ------------------------------------------------------------------------------- subgoals
def test_subgoals_progress_on_a_scripted_session():
    app = ShopApp(SMALL)
    sid = app.new_session(TASK.instruction)
    names = tasks.subgoal_names(TASK)
    assert names == ["search", "open", "option:size", "option:color", "buy"]

    def done() -> list[str]:
        reached = tasks.subgoals_done(TASK, SMALL, app.session(sid))
        assert list(reached) == names
        return [name for name, ok in reached.items() if ok]

    assert done() == []
    app.handle("GET", f"/s/{sid}/search?q=t-shirt", None)
    assert done() == []  # the results showed no fully matching product
    app.handle("GET", f"/s/{sid}/search?q=waterproof+hiking+boot", None)
    assert done() == ["search"]
    app.handle("GET", f"/s/{sid}/item/{PRICEY.pid}?opt.size=9", None)
    assert done() == ["search"]  # too expensive: not a full match
    app.handle("GET", f"/s/{sid}/item/{TWIN.pid}?opt.size=9", None)
    assert done() == ["search", "open", "option:size"]
    app.handle("GET", f"/s/{sid}/item/{BOOT.pid}?opt.size=9&opt.color=black&tab=reviews", None)
    assert done() == ["search", "open", "option:size", "option:color"]
    app.handle("POST", f"/s/{sid}/buy", urlencode({"pid": BOOT.pid, "opt.size": "9",
                                                   "opt.color": "black"}).encode())
    assert done() == names
    assert tasks.score_purchase(TASK, SMALL, app.session(sid).purchase)[0] == 1.0


def test_a_wrong_purchase_leaves_buy_unreached():
    app = ShopApp(SMALL)
    sid = app.new_session(TASK.instruction)
    app.handle("POST", f"/s/{sid}/buy", urlencode({"pid": BOOT.pid, "opt.size": "10"}).encode())
    reached = tasks.subgoals_done(TASK, SMALL, app.session(sid))
    assert not any(reached.values())
