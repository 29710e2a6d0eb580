"""The web shop: catalogue, search, web app, loopback server and WebShop-style tasks.

Independent of how it is browsed (see :mod:`agentgym.envs.web` for the page contract).

Example:
    >>> catalog = generate_catalog(n=1200, seed=0)
    >>> app = ShopApp(catalog)
    >>> task = test_tasks(catalog)[0]
    >>> sid = app.new_session(task.instruction)
    >>> status, headers, page = app.handle("GET", app.home_path(sid), None)
    >>> status
    200
"""

from __future__ import annotations

from agentgym.envs.web.shop.app import (
    SORTS, TABS, CartEvent, Event, PurchaseEvent, SearchEvent, SessionState, ShopApp, ViewEvent,
)
from agentgym.envs.web.shop.catalog import (
    CATEGORIES, PRODUCT_TYPES, Catalog, Product, generate_catalog,
)
from agentgym.envs.web.shop.search import SearchIndex, tokenize
from agentgym.envs.web.shop.server import ShopServer, acquire_server, release_server
from agentgym.envs.web.shop.tasks import (
    N_TEST, SPLITS, WebTask, full_matches, generate_task, make_task, matches_goal,
    score_purchase, subgoal_names, subgoals_done, target_pool, test_tasks,
)

__all__ = [
    "CATEGORIES", "N_TEST", "PRODUCT_TYPES", "SORTS", "SPLITS", "TABS", "CartEvent", "Catalog",
    "Event", "Product", "PurchaseEvent", "SearchEvent", "SearchIndex", "SessionState", "ShopApp",
    "ShopServer", "ViewEvent", "WebTask", "acquire_server", "full_matches", "generate_catalog",
    "generate_task", "make_task", "matches_goal", "release_server", "score_purchase",
    "subgoal_names", "subgoals_done", "target_pool", "test_tasks", "tokenize",
]
