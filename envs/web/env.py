"""``agentgym/WebShop-v0``: WebShop-style shopping in the local shop, in a browser or as text."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from agentgym.env import TextEnv
from agentgym.envs.web.actions import Action, parse_action
from agentgym.envs.web.oracle import expert_action, parse_tree
from agentgym.envs.web.shop.app import SessionState, ShopApp
from agentgym.envs.web.shop.catalog import Catalog, generate_catalog, noun_phrase
from agentgym.envs.web.shop.tasks import (
    N_TEST,
    WebTask,
    make_task,
    score_purchase,
    subgoal_names,
    subgoals_done,
)
from agentgym.errors import ConfigError, closest
from agentgym.task import Outcome, Task, TaskSpec, Verdict

__all__ = ["WebShopEnv", "WebShopTask", "WebState", "candidate_actions", "checklist_items",
           "shop_app"]

BACKENDS = ("text", "browser")
#: The origin the text backend pretends to be on (no server is needed without a browser).
TEXT_ORIGIN = "http://127.0.0.1"

_SHOPS: dict[tuple[int, int], ShopApp] = {}
_SHOPS_LOCK = threading.Lock()


def shop_app(*, catalog_size: int = 1200, catalog_seed: int = 0) -> ShopApp:
    """The process's shop for one catalogue (built once: every env of the process shares it)."""
    key = (catalog_size, catalog_seed)
    with _SHOPS_LOCK:
        if key not in _SHOPS:
            _SHOPS[key] = ShopApp(generate_catalog(n=catalog_size, seed=catalog_seed))
        return _SHOPS[key]


def checklist_items(task: WebTask) -> dict[str, str]:
    """The task's subgoals in plain English, as a checklist judge reads them.

    Keyed by the names :func:`~agentgym.envs.web.shop.tasks.subgoals_done` tracks, in their
    order: ``search`` -> "Search for <the goal's noun phrase>", ``open`` -> "Open a product that
    matches", ``option:<group>`` -> "Choose <group>: <value>", ``buy`` -> "Buy the product".
    """
    items = {"search": f"Search for {noun_phrase(task.product_type, task.attributes)}",
             "open": "Open a product that matches", "buy": "Buy the product"}
    items.update({f"option:{group}": f"Choose {group}: {value}"
                  for group, value in task.options.items()})
    return {name: items[name] for name in subgoal_names(task)}


def candidate_actions(text: str) -> list[str]:
    """Plausible actions on the page showing ``text``, in page order (no duplicates).

    A click on every link and button, ``press(<box>, 'Enter')`` for every search box or text
    box and a ``select_option`` for every option of every combobox: the alternatives of an open
    action space (e.g. the rejected actions of :mod:`agentgym.rewards.prm_eval`). Filling a box
    is left out: its text cannot be guessed from the page.
    """
    out: list[str] = []
    box = None  # the combobox whose options follow (a combobox shows only its options)
    for line in parse_tree(text):
        if line.role == "option" and box is not None:
            out.append(f"select_option('{box}', {line.name!r})")
            continue
        box = line.id if line.role == "combobox" else None
        if line.role in ("link", "button"):
            out.append(f"click('{line.id}')")
        elif line.role in ("searchbox", "textbox"):
            out.append(f"press('{line.id}', 'Enter')")
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class WebState:
    """One point of an episode.

    Attributes:
        version: Steps taken since reset; tells the task whether the backend is at this point.
        url: The page's path within the session (``/search?q=...``), as the agent sees it.
        text: The observation text (URL line and tree).
        session: The shop's log of the session at this point.
        tab: The text backend's saved tab (``None`` with the browser).
        answer: What ``stop(...)`` said, once the agent stopped.
    """

    version: int
    url: str
    text: str
    session: SessionState
    tab: Any = None
    answer: str | None = None


class WebShopTask(Task[WebState]):
    """Shopping tasks (see :mod:`agentgym.envs.web.shop.tasks`) browsed by one backend.

    Args:
        split: ``train`` (a task per seed) or ``test`` (the 200 fixed tasks, seed ``i`` plays
            task ``i % 200``).
        backend: ``text`` (pages parsed in Python, no browser, fast) or ``browser`` (Chromium
            through Playwright, against the shop's loopback HTTP server).
        catalog_size: Products in the generated catalogue.
        catalog_seed: Seed of the catalogue.
        screenshot: With the browser, keep a PNG of the viewport after every step
            (``env.unwrapped.task.screenshot``).
        headless: With the browser, run it without a window.
        chromium: With the browser, the Chromium executable (default: Playwright's own, else the
            system's; see :func:`agentgym.browser.find_chromium`).
        timeout_ms: With the browser, the limit for each navigation and action.
    """

    splits = ("train", "test")

    def __init__(self, *, split: str = "train", backend: str = "text", catalog_size: int = 1200,
                 catalog_seed: int = 0, screenshot: bool = False, headless: bool = True,
                 chromium: str | None = None, timeout_ms: int = 5000) -> None:
        super().__init__(split=split)
        if backend not in BACKENDS:
            near = closest(backend, BACKENDS)
            raise ConfigError("env.kwargs.backend", f"{backend!r} is not a backend"
                              + (f" (did you mean {near[0]!r}?)." if near else "."),
                              f"use one of {list(BACKENDS)}.")
        if catalog_size < 50:
            raise ConfigError("env.kwargs.catalog_size", f"must be >= 50, got {catalog_size}.")
        self.backend_name = backend
        self.app = shop_app(catalog_size=catalog_size, catalog_seed=catalog_seed)
        self.catalog: Catalog = self.app.catalog
        self._browser_kwargs = {"screenshot": screenshot, "headless": headless,
                                "executable_path": chromium, "timeout_ms": timeout_ms}
        self._backend: Any = None
        self._server: Any = None
        self._index: int | None = None
        self._version = 0
        self.task: WebTask | None = None
        self.sid: str | None = None
        self.screenshot: bytes | None = None

    # -- infrastructure -----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._server.origin if self._server is not None else TEXT_ORIGIN

    def _ensure_backend(self) -> Any:
        if self._backend is not None:
            return self._backend
        if self.backend_name == "text":
            from agentgym.envs.web.text_backend import TextBackend

            self._backend = TextBackend(self.app.handle, origin=TEXT_ORIGIN)
        else:
            from agentgym.envs.web.browser_backend import BrowserBackend
            from agentgym.envs.web.shop.server import acquire_server

            self._server = acquire_server(self.app)
            self._backend = BrowserBackend(origin=self._server.origin, **self._browser_kwargs)
        return self._backend

    def close(self) -> None:
        """End the session, close the browser and release the shared server."""
        if self.sid is not None:
            self.app.end_session(self.sid)
            self.sid = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._server is not None:
            from agentgym.envs.web.shop.server import release_server

            release_server(self._server)
            self._server = None

    # -- Task ---------------------------------------------------------------------------------

    def select(self, index: int | None) -> None:
        """Play task ``index`` of the split at the next reset (``None``: drawn from the rng)."""
        self._index = index

    def setup(self, rng: np.random.Generator) -> TaskSpec[WebState]:
        index = self._index if self._index is not None else int(rng.integers(2**31 - 1))
        if self.split == "test":
            index %= N_TEST
        self.task = make_task(self.catalog, split=self.split, seed=index)
        if self.sid is not None:
            self.app.end_session(self.sid)
        self.sid = self.app.new_session(self.task.instruction)
        backend = self._ensure_backend()
        backend.open(self.origin + self.app.home_path(self.sid))
        self._version = 0
        state = self._observe(version=0)
        return TaskSpec(goal=self.task.instruction, state=state, text=state.text,
                        task_id=self.task.task_id, task_type=self.task.product_type,
                        subgoals=list(checklist_items(self.task).values()))

    def admissible(self, state: WebState) -> list[str]:
        return []  # an open action space (agentgym.envs.web.actions.ACTION_HELP)

    def apply(self, state: WebState, action: str) -> Outcome[WebState]:
        parsed = parse_action(action)
        if isinstance(parsed, str):
            return Outcome(state=state, text=state.text, valid=False, error=parsed)
        if state.version != self._version:
            refused = self._go_to(state)
            if refused:
                return Outcome(state=state, text=state.text, valid=False, error=refused)
        if parsed.name == "stop":
            answer = str(parsed.args[0]) if parsed.args else ""
            return Outcome(state=replace(state, answer=answer), text=state.text)
        error = self._backend.act(self._in_session(parsed))
        self._version += 1
        after = self._observe(version=self._version)
        return Outcome(state=after, text=after.text, valid=not error, error=error)

    def validate(self, before: WebState, after: WebState) -> Verdict:
        items = checklist_items(self.task)
        done = subgoals_done(self.task, self.catalog, after.session)
        reached = [items[name] for name, ok in done.items() if ok]
        bought = after.session.purchase is not None
        score = score_purchase(self.task, self.catalog, after.session.purchase)[0] if bought else 0.0
        won = score >= 1.0
        reward = score if bought and before.session.purchase is None else 0.0  # paid once
        lost = (bought and not won) or after.answer is not None
        return Verdict(won=won, lost=lost, reward_terms={"purchase": reward},
                       subgoals_done=reached)

    def oracle(self, state: WebState) -> str | None:
        if state.answer is not None:
            return None
        return expert_action(self.task, self.catalog, state.url, state.text, state.session)

    def describe(self, state: WebState) -> dict[str, Any]:
        over = state.session.done or state.answer is not None
        facts: dict[str, Any] = {"url": state.url, "backend": self.backend_name,
                                 "candidate_actions": [] if over else candidate_actions(state.text)}
        if state.session.purchase is not None:
            reward, parts = score_purchase(self.task, self.catalog, state.session.purchase)
            facts["purchase"] = {"items": [[pid, dict(opts)] for pid, opts
                                           in state.session.purchase],
                                 "score": reward, "parts": parts}
        if state.answer is not None:
            facts["answer"] = state.answer
        return facts

    def copy_state(self, state: WebState) -> WebState:
        return state  # immutable: the backend is brought back to it in apply()

    # -- helpers ------------------------------------------------------------------------------

    def _observe(self, *, version: int) -> WebState:
        page = self._backend.observe()
        if self.backend_name == "browser":
            self.screenshot = page.screenshot
        url = self._session_path(page.url)
        text = f"URL: {url}\n{page.text}"
        tab = self._backend.save() if self.backend_name == "text" else None
        return WebState(version=version, url=url, text=text, session=self.app.session(self.sid),
                        tab=tab)

    def _session_path(self, url: str) -> str:
        """``url`` as the agent sees it: the path within the session, with its query."""
        parts = urlsplit(url)
        root = self.app.home_path(self.sid).rstrip("/")
        path = parts.path[len(root):] if parts.path.startswith(root) else parts.path
        return (path or "/") + (f"?{parts.query}" if parts.query else "")

    def _in_session(self, action: Action) -> Action:
        """``goto('/search?q=x')`` means the session's page: URLs shown are within it."""
        if action.name != "goto":
            return action
        url = str(action.args[0])
        if url.startswith("/") and not url.startswith("/s/"):
            url = self.app.home_path(self.sid).rstrip("/") + url
        return Action("goto", (url,))

    def _go_to(self, state: WebState) -> str:
        """Bring the backend and the session back to ``state`` (a restored snapshot)."""
        if state.tab is None:
            return ("This point of the episode cannot be restored with the browser backend "
                    "(only the text backend keeps snapshots).")
        self._backend.load(state.tab)
        self.app.restore_session(state.session)
        self._version = state.version
        return ""


class WebShopEnv(TextEnv):
    """Shopping in a local web shop (WebShop-style tasks).

    ## Description

    Each episode asks for a product ("i need a waterproof hiking boot in black, size 9, and
    price lower than 80.00 dollars"); the agent searches the shop, opens products, chooses
    options and buys. One shop (a generated catalogue of 1,200 products with BM25 search)
    serves every env of the process: in Python for ``backend="text"``, over a loopback HTTP
    server to Chromium for ``backend="browser"``; both show the same text.

    ## Observation

    ``text`` is ``URL: <path in the session>`` and then the page's accessibility tree, one
    node per line, elements with their id: ``[12] button 'Buy Now'``. ``goal`` is the
    instruction; ``admissible_actions`` is empty (an open action space); ``last_action_error``
    says why an action failed. With ``screenshot=True`` (browser) the last PNG is
    ``env.unwrapped.task.screenshot``.

    ## Action

    One call: ``click('12')``, ``fill('5', 'text')``, ``select_option('7', 'Price: low to
    high')``, ``press('5', 'Enter')``, ``scroll(0, 200)``, ``goto('/path')``, ``go_back()``,
    ``go_forward()``, ``noop()``, ``stop('answer')``.

    ## Rewards

    One term, ``purchase``, paid when something is bought: WebShop's score (type match x share
    of the goal's attributes, options and price bound met; see
    :func:`~agentgym.envs.web.shop.tasks.score_purchase`). ``info["purchase"]`` has its parts.
    For checklist rewards, ``info["subgoals"]`` is the task's checklist in plain English
    (:func:`checklist_items`: "Search for ...", "Open a product that matches", "Choose <group>:
    <value>" per goal option, "Buy the product") and ``info["subgoals_done"]`` the items reached
    so far (same strings). ``info["candidate_actions"]`` lists plausible actions on the page
    (:func:`candidate_actions`; empty once the episode is over).

    ## Episode end

    Terminated by a purchase (won when it scores 1.0) or by ``stop(...)``; truncated at
    ``max_episode_steps`` (30).

    ## Arguments

    See :class:`WebShopTask`: ``split``, ``backend`` (``text`` or ``browser``),
    ``catalog_size``, ``catalog_seed``, ``screenshot``, ``headless``, ``chromium``,
    ``timeout_ms``.

    ## Version history

    v0: first version.
    """

    task_class = WebShopTask
    task: WebShopTask

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        self.task.select((options or {}).get("task_index", seed))
        return super().reset(seed=seed, options=options)

    def close(self) -> None:
        self.task.close()
        super().close()

