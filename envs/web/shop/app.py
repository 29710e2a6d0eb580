"""The shop as a web application: every page rendered as HTML, every session's state and log.

:meth:`ShopApp.handle` maps a request ``(method, path with query, body)`` to a response
``(status, headers, body bytes)``. It is pure Python (no network) and thread-safe, so the text
backend calls it directly and :mod:`agentgym.envs.web.shop.server` serves it to a browser; both see
the same bytes. Every page lives under ``/s/<sid>/``, so one app serves many episodes at once:

- ``GET /s/<sid>/``: home, the instruction and the search form;
- ``GET /s/<sid>/search?q=&page=&sort=``: results, 10 a page, by relevance or price;
- ``GET /s/<sid>/item/<pid>?q=&page=&sort=&opt.<group>=&tab=``: a product, carrying the results
  context, the chosen options and the tab (``description``, ``features``, ``reviews``);
- ``GET /s/<sid>/cart`` and ``GET /s/<sid>/done``: the cart, and the thank-you page;
- ``POST /s/<sid>/cart/add`` and ``POST /s/<sid>/buy`` (form: ``pid``, ``opt.<group>``) and
  ``POST /s/<sid>/checkout``: answered by a 303 to the cart or to the thank-you page.

Anything else, an unknown session or a bad parameter gets an HTML error page (400, 404, 405, 409)
and never an exception. A session allows one purchase; after it, buying is refused (409).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import parse_qs, quote_plus, urlsplit

from agentgym.envs.web.shop.catalog import Catalog, Product
from agentgym.envs.web.shop.html import Node, h, render_page
from agentgym.envs.web.shop.search import SearchIndex
from agentgym.envs.web.shop.session import (
    CartEvent,
    Event,
    Options,
    PurchaseEvent,
    SearchEvent,
    SessionState,
    ViewEvent,
    SessionLog,
)
from agentgym.errors import AgentGymError, ConfigError

__all__ = [
    "CartEvent", "Event", "PurchaseEvent", "SORTS", "SearchEvent", "SessionState", "ShopApp",
    "TABS", "ViewEvent",
]

log = logging.getLogger(__name__)

Response = tuple[int, dict[str, str], bytes]
#: Sort orders of the results page: value → label.
SORTS: dict[str, str] = {
    "relevance": "Relevance", "price_asc": "Price: low to high", "price_desc": "Price: high to low",
}
#: The tabs of an item page, beside its overview.
TABS = ("description", "features", "reviews")
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PAGE = re.compile(r"[1-9][0-9]{0,5}")
_MAX_QUERY = 500


class _Refuse(Exception):
    """A request answered with an error page (raised inside :meth:`ShopApp.handle` only)."""

    def __init__(self, status: int, message: str, *, sid: str | None = None,
                 allow: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.sid, self.allow = status, message, sid, allow


class ShopApp:
    """The shop's web application (see the module docstring for its pages).

    Args:
        catalog: The products.
        results_per_page: Results on one page of search results.
        max_results: Results a search returns at most (over all its pages).
        index: A search index over ``catalog``; built with BM25 defaults when omitted.

    Raises:
        ConfigError: ``results_per_page`` or ``max_results`` is not positive.
    """

    def __init__(self, catalog: Catalog, *, results_per_page: int = 10, max_results: int = 50,
                 index: SearchIndex | None = None) -> None:
        for name, value in (("results_per_page", results_per_page), ("max_results", max_results)):
            if value < 1:
                raise ConfigError(name, f"got {value}, expected a positive number.")
        self.catalog = catalog
        self.results_per_page = results_per_page
        self.max_results = max_results
        self.index = index if index is not None else SearchIndex(catalog)
        self._sessions: dict[str, SessionLog] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ranked = lru_cache(maxsize=1024)(self._rank)

    # ----------------------------------------------------------------- sessions
    def new_session(self, instruction: str, *, sid: str | None = None) -> str:
        """Open a session and return its id.

        Args:
            instruction: Shown at the top of every page of the session.
            sid: The id to use (letters, digits, ``_`` and ``-``; at most 64), e.g. for ids that
                repeat across runs; by default ``'1'``, ``'2'``, ... in order of creation.

        Raises:
            AgentGymError: ``sid`` is malformed or already open.
        """
        with self._lock:
            if sid is None:
                sid = next(s for s in map(str, self._ids) if s not in self._sessions)
            elif not _SID.fullmatch(sid) or sid in self._sessions:
                problem = "is already open" if sid in self._sessions else "is malformed"
                raise AgentGymError(f"Session id {sid!r} {problem}. Pass a new id of letters, "
                                    "digits, '_' and '-' (at most 64), or none for a fresh one.")
            self._sessions[sid] = SessionLog(instruction)
        return sid

    def session(self, sid: str) -> SessionState:
        """A snapshot of session ``sid``.

        Raises:
            KeyError: No open session has this id.
        """
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                raise KeyError(f"No open session {sid!r}: open one with new_session(); "
                               f"{len(self._sessions)} are open.")
            return SessionState(sid, s.instruction, tuple(s.events), tuple(s.cart), s.purchase)

    def restore_session(self, state: SessionState) -> None:
        """Put session ``state.sid`` back to ``state`` (a snapshot from :meth:`session`),
        reopening it if it was ended: how an env returns to an earlier point of an episode."""
        with self._lock:
            self._sessions[state.sid] = SessionLog(state.instruction, list(state.events),
                                                 list(state.cart), state.purchase)

    def end_session(self, sid: str) -> None:
        """Forget session ``sid`` (its pages answer 404 afterwards); unknown ids are ignored."""
        with self._lock:
            self._sessions.pop(sid, None)

    def home_path(self, sid: str) -> str:
        """The path of a session's home page, ``/s/<sid>/``."""
        return f"/s/{sid}/"

    # ----------------------------------------------------------------- requests
    def handle(self, method: str, target: str, body: bytes | None = None) -> Response:
        """Answer one request.

        Args:
            method: ``'GET'`` or ``'POST'`` (``'HEAD'`` is answered like GET).
            target: The path with its query string (an absolute URL is reduced to it).
            body: The request body; a POST's form is ``application/x-www-form-urlencoded``.

        Returns:
            ``(status, headers, body)``: 200 with HTML, 303 with a ``Location`` and no body, or
            an HTML error page (4xx; 500 only for a bug in the app, which is logged).
        """
        try:
            return self._route(method.upper(), target, body or b"")
        except _Refuse as refusal:
            return self._error(refusal)
        except Exception:  # a bug: log it, and still answer with a page
            log.exception("shop: %s %s failed", method, target)
            return self._error(_Refuse(500, "The shop failed on this request; it was logged."))

    def _route(self, method: str, target: str, body: bytes) -> Response:
        parts = urlsplit(target)
        params = _params(parts.query)
        segments = parts.path.split("/")
        if len(segments) < 3 or segments[0] != "" or segments[1] != "s":
            raise _Refuse(404, f"There is no page at {parts.path!r}. Every page of the shop lives "
                               "under /s/<session id>/.")
        sid, rest = segments[2], "/".join(segments[3:])
        self._state(sid)  # 404 for an unknown session
        if method not in ("GET", "HEAD", "POST"):
            raise _Refuse(405, f"Method {method} is not supported; use GET or POST.", sid=sid,
                          allow="GET, POST")
        form = _params(body.decode("utf-8", errors="replace")) if method == "POST" else {}
        routes = {
            "": ("GET", lambda: _ok(_home_page(self._state(sid)))),
            "search": ("GET", lambda: self._results(sid, params)),
            "cart": ("GET", lambda: self._cart(sid)),
            "done": ("GET", lambda: self._done(sid)),
            "cart/add": ("POST", lambda: self._add_to_cart(sid, form)),
            "buy": ("POST", lambda: self._purchase(sid, (self._chosen(sid, form),))),
            "checkout": ("POST", lambda: self._checkout(sid)),
        }
        if rest.startswith("item/") and rest.count("/") == 1:
            allowed, handler = "GET", (lambda: self._item(sid, rest[5:], params))
        elif rest in routes:
            allowed, handler = routes[rest]
        else:
            raise _Refuse(404, f"There is no page at {parts.path!r}.", sid=sid)
        if (method == "POST") != (allowed == "POST"):
            raise _Refuse(405, f"{parts.path} answers {allowed} only, not {method}.", sid=sid,
                          allow=allowed)
        return handler()

    def _state(self, sid: str) -> SessionState:
        """What a page shows of a session (its log left out: pages never show it)."""
        with self._lock:
            s = self._live(sid)
            return SessionState(sid, s.instruction, (), tuple(s.cart), s.purchase)

    def _live(self, sid: str) -> SessionLog:
        """The session, for a caller holding the lock; 404 if it ended since the request began."""
        s = self._sessions.get(sid)
        if s is None:
            raise _Refuse(404, f"Unknown session {sid!r}: never opened, or ended.")
        return s

    def _log(self, sid: str, event: Event) -> None:
        with self._lock:
            s = self._sessions.get(sid)
            if s is not None:
                s.events.append(event)

    # -------------------------------------------------------------------- pages
    def _results(self, sid: str, params: dict[str, str]) -> Response:
        query = params.get("q", "")
        if len(query) > _MAX_QUERY:
            raise _Refuse(400, f"The query has {len(query)} characters; at most {_MAX_QUERY} are "
                               "searched.", sid=sid)
        page = _positive(params, "page", sid)
        sort = _choice(params, "sort", tuple(SORTS), "relevance", sid)
        ranked = self._ranked(query, sort)
        n_pages = max(1, -(-len(ranked) // self.results_per_page))
        if page > n_pages:
            raise _Refuse(400, f"Page {page} does not exist: these results have {n_pages} "
                               f"page(s).", sid=sid)
        start = (page - 1) * self.results_per_page
        shown = ranked[start:start + self.results_per_page]
        self._log(sid, SearchEvent(query, page, sort, shown, len(ranked)))
        return _ok(_results_page(
            self._state(sid), query=query, page=page, n_pages=n_pages, sort=sort,
            total=len(ranked), products=[self.catalog[pid] for pid in shown],
        ))

    def _rank(self, query: str, sort: str) -> tuple[str, ...]:
        pids = [pid for pid, _ in self.index.search(query, k=self.max_results)]
        if sort != "relevance":  # stable: equal prices keep their relevance order
            pids.sort(key=lambda pid: self.catalog[pid].price, reverse=sort == "price_desc")
        return tuple(pids)

    def _item(self, sid: str, pid: str, params: dict[str, str]) -> Response:
        product = self.catalog.get(pid)
        if product is None:
            raise _Refuse(404, f"There is no product {pid!r}.", sid=sid)
        options = _options(product, params, sid)
        tab = _choice(params, "tab", ("overview", *TABS), "overview", sid)
        context = {k: params[k] for k in ("q", "page", "sort") if k in params}
        if context:  # the results page '< Prev' returns to: validate it like the results page
            _positive(context, "page", sid)
            _choice(context, "sort", tuple(SORTS), "relevance", sid)
        self._log(sid, ViewEvent(pid, tab, dict(options)))
        return _ok(_item_page(self._state(sid), product=product, options=options, tab=tab,
                              context=context))

    def _cart(self, sid: str) -> Response:
        state = self._state(sid)
        return _ok(_cart_page(state, items=[(self.catalog[p], o) for p, o in state.cart]))

    def _done(self, sid: str) -> Response:
        state = self._state(sid)
        if state.purchase is None:
            raise _Refuse(404, "Nothing has been bought in this session yet.", sid=sid)
        return _ok(_done_page(state, items=[(self.catalog[p], o) for p, o in state.purchase]))

    # ------------------------------------------------------------------ actions
    def _chosen(self, sid: str, form: dict[str, str]) -> tuple[str, Options]:
        """The product and options a buy or add-to-cart form names."""
        pid = form.get("pid", "")
        product = self.catalog.get(pid)
        if product is None:
            raise _Refuse(400, f"The form names no known product (pid={pid!r}).", sid=sid)
        return pid, _options(product, form, sid)

    def _refuse_if_over(self, sid: str, s: SessionLog) -> None:
        if s.purchase is not None:
            bought = ", ".join(self.catalog[pid].title for pid, _ in s.purchase)
            raise _Refuse(409, f"This session is over: you already bought {bought}. A session "
                               "allows one purchase.", sid=sid)

    def _add_to_cart(self, sid: str, form: dict[str, str]) -> Response:
        pid, options = self._chosen(sid, form)
        with self._lock:
            s = self._live(sid)
            self._refuse_if_over(sid, s)
            s.cart.append((pid, options))
            s.events.append(CartEvent(pid, dict(options)))
        return _see_other(f"/s/{sid}/cart")

    def _checkout(self, sid: str) -> Response:
        with self._lock:
            items = tuple(self._live(sid).cart)
        if not items:
            raise _Refuse(400, "Your cart is empty: add a product with 'Add to Cart' first.",
                          sid=sid)
        return self._purchase(sid, items)

    def _purchase(self, sid: str, items: tuple[tuple[str, Options], ...]) -> Response:
        with self._lock:
            s = self._live(sid)
            self._refuse_if_over(sid, s)
            s.purchase = items
            s.events.append(PurchaseEvent(tuple((pid, dict(o)) for pid, o in items)))
        return _see_other(f"/s/{sid}/done")

    def _error(self, refusal: _Refuse) -> Response:
        state = None
        if refusal.sid is not None:
            try:
                state = self._state(refusal.sid)
            except _Refuse:  # the session ended meanwhile
                state = None
        body = _error_page(state, status=refusal.status,
                           reason=HTTPStatus(refusal.status).phrase, message=refusal.message)
        status, headers, content = _ok(body)
        if refusal.allow:
            headers["Allow"] = refusal.allow
        return refusal.status, headers, content


def _params(query: str) -> dict[str, str]:
    """The first value of every key of a query string or form body."""
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _positive(params: dict[str, str], name: str, sid: str) -> int:
    raw = params.get(name, "1")
    if not _PAGE.fullmatch(raw):
        raise _Refuse(400, f"{name}={raw!r} is not a page number; pages count from 1.", sid=sid)
    return int(raw)


def _choice(params: dict[str, str], name: str, allowed: tuple[str, ...], default: str,
            sid: str) -> str:
    value = params.get(name, default)
    if value not in allowed:
        raise _Refuse(400, f"{name}={value!r} is not one of {', '.join(allowed)}.", sid=sid)
    return value


def _options(product: Product, params: dict[str, str], sid: str) -> Options:
    """The ``opt.<group>`` choices of a request, checked against the product's options."""
    chosen: Options = {}
    for key, value in params.items():
        if not key.startswith("opt."):
            continue
        group = key[4:]
        if group not in product.options:
            offered = ", ".join(product.options) or "none"
            raise _Refuse(400, f"This product has no option {group!r} (its options: {offered}).",
                          sid=sid)
        if value not in product.options[group]:
            raise _Refuse(400, f"{value!r} is not a {group} of this product; choose one of "
                               f"{', '.join(product.options[group])}.", sid=sid)
        chosen[group] = value
    return {g: chosen[g] for g in product.options if g in chosen}  # the product's group order


def _ok(body: bytes) -> Response:
    return 200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)),
                 "Cache-Control": "no-store"}, body


def _see_other(location: str) -> Response:
    return 303, {"Location": location, "Content-Length": "0", "Cache-Control": "no-store"}, b""


@lru_cache(maxsize=8192)
def _quoted(text: str) -> str:
    return quote_plus(text)


def _query(params: dict[str, str]) -> str:
    """``?`` and the parameters form-encoded (what ``urlencode`` writes), or ``""``; option
    names and values repeat on every page, so each string is quoted once."""
    if not params:
        return ""
    return "?" + "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in params.items())


# ------------------------------------------------------------------------ pages
# Each page: a header (the instruction, then navigation links) and a main part. Children that
# sit side by side inside one element are separated by a space so that they also read apart.

def _spaced(*nodes: Node | None) -> list[Node | str]:
    out: list[Node | str] = []
    for node in nodes:
        if node is not None:
            out += [" ", node] if out else [node]
    return out


def _page(state: SessionState | None, *, title: str, main: list[Node | None],
          nav: tuple[Node | None, ...] = (), cart_link: bool = True) -> bytes:
    body: list[Node] = []
    if state is not None:
        links = list(nav)
        if cart_link and state.cart and not state.done:
            links.append(h("a", f"Cart ({len(state.cart)})", href=f"/s/{state.sid}/cart"))
        links = [link for link in links if link is not None]
        body.append(h("header", h("p", f"Instruction: {state.instruction}"),
                      h("nav", _spaced(*links)) if links else None))
    body.append(h("main", main))
    return render_page(title=title, body=body)


def _back_to_search(sid: str) -> Node:
    return h("a", "Back to Search", href=f"/s/{sid}/")


def _search_form(sid: str, query: str) -> Node:
    return h("form", h("label", "Search for products", for_="q"),
             h("input", type="search", id="q", name="q", value=query),
             h("button", "Search", type="submit"), method="get", action=f"/s/{sid}/search")


def _money(value: float) -> str:
    return f"${value:.2f}"


def _options_text(options: Options) -> str:
    return ", ".join(f"{g}: {v}" for g, v in options.items()) or "no options chosen"


def _item_href(sid: str, pid: str, *, context: dict[str, str], options: Options,
               tab: str = "overview") -> str:
    params = {**context, **{f"opt.{g}": v for g, v in options.items()}}
    if tab != "overview":
        params["tab"] = tab
    return f"/s/{sid}/item/{pid}" + _query(params)


def _home_page(state: SessionState) -> bytes:
    return _page(state, title="Shop: search", main=[_search_form(state.sid, "")])


def _results_page(state: SessionState, *, query: str, page: int, n_pages: int, sort: str,
                  total: int, products: list[Product]) -> bytes:
    sid, here = state.sid, f"/s/{state.sid}/search"
    sorter = h(
        "form", h("input", type="hidden", name="q", value=query),
        h("label", "Sort by", for_="sort"),
        h("select", [h("option", label, value=value, selected=value == sort)
                     for value, label in SORTS.items()], name="sort", id="sort"),
        h("button", "Sort", type="submit"), method="get", action=here,
    )
    context = {"q": query, "page": str(page), "sort": sort}
    listing = h("ul", [h("li", _spaced(
        h("a", p.title, href=_item_href(sid, p.pid, context=context, options={})),
        h("span", _money(p.price)), h("span", f"Rating: {p.rating:.1f} out of 5"),
    )) for p in products]) if products else None

    def to_page(n: int, text: str) -> Node:
        return h("a", text, href=here + _query({"q": query, "page": str(n), "sort": sort}))

    pager = _spaced(to_page(page - 1, "< Prev") if page > 1 else None,
                    to_page(page + 1, "Next >") if page < n_pages else None)
    summary = (f"Page {page} of {n_pages} ({total} results)" if total
               else f"No products match {query!r}. Try other words.")
    return _page(state, title=f"Shop: results for {query}", nav=(_back_to_search(sid),), main=[
        _search_form(sid, query), sorter, h("p", summary), listing,
        h("nav", pager) if pager else None,
    ])


def _item_page(state: SessionState, *, product: Product, options: Options, tab: str,
               context: dict[str, str]) -> bytes:
    sid, pid = state.sid, product.pid
    if tab != "overview":
        prev = h("a", "< Prev", href=_item_href(sid, pid, context=context, options=options))
        return _page(state, title=f"{product.title}: {tab}", nav=(_back_to_search(sid), prev),
                     main=[h("h1", product.title), h("h2", tab.capitalize()),
                           *_tab_content(product, tab)])
    results = f"/s/{sid}/search" + _query(context) if context else f"/s/{sid}/"
    groups = [h("div", _spaced(h("label", group), *[
        h("a", value + (" (selected)" if options.get(group) == value else ""),
          href=_item_href(sid, pid, context=context, options={**options, group: value}))
        for value in values
    ])) for group, values in product.options.items()]
    tabs = [h("a", t.capitalize(), href=_item_href(sid, pid, context=context, options=options,
                                                   tab=t)) for t in TABS]
    hidden = [h("input", type="hidden", name="pid", value=pid)]
    hidden += [h("input", type="hidden", name=f"opt.{g}", value=v) for g, v in options.items()]
    return _page(state, title=product.title, nav=(_back_to_search(sid), h("a", "< Prev",
                                                                         href=results)), main=[
        h("h1", product.title), h("p", f"Price: {_money(product.price)}"),
        h("p", f"Rating: {product.rating:.1f} out of 5"),
        h("section", groups) if groups else None, h("nav", _spaced(*tabs)),
        h("form", hidden, h("button", "Buy Now", type="submit"), method="post",
          action=f"/s/{sid}/buy"),
        h("form", hidden, h("button", "Add to Cart", type="submit"), method="post",
          action=f"/s/{sid}/cart/add"),
    ])


def _tab_content(product: Product, tab: str) -> list[Node]:
    if tab == "description":
        return [h("p", product.description)]
    if tab == "features":
        return [h("ul", [h("li", feature) for feature in product.features])]
    if not product.reviews:
        return [h("p", "No reviews yet.")]
    return [h("ul", [h("li", f"{stars} out of 5 stars: {text}")
                     for stars, text in product.reviews])]


def _order(sid: str, items: list[tuple[Product, Options]], *, links: bool) -> list[Node]:
    """The list of items in a cart or an order, and their total."""
    rows = [h("li", _spaced(
        h("a", p.title, href=_item_href(sid, p.pid, context={}, options=o)) if links
        else h("span", p.title),
        h("span", _options_text(o)), h("span", _money(p.price)),
    )) for p, o in items]
    return [h("ul", rows), h("p", f"Total: {_money(sum(p.price for p, _ in items))}")]


def _cart_page(state: SessionState, *, items: list[tuple[Product, Options]]) -> bytes:
    sid = state.sid
    if not items:
        main: list[Node | None] = [h("h1", "Your cart"), h("p", "Your cart is empty.")]
    else:
        main = [h("h1", "Your cart"), *_order(sid, items, links=not state.done),
                None if state.done else h("form", h("button", "Checkout", type="submit"),
                                          method="post", action=f"/s/{sid}/checkout")]
    return _page(state, title="Shop: cart", nav=(_back_to_search(sid),), main=main,
                 cart_link=False)


def _done_page(state: SessionState, *, items: list[tuple[Product, Options]]) -> bytes:
    return _page(state, title="Shop: thank you", main=[
        h("h1", "Thank you for shopping with us!"), h("p", "You bought:"),
        *_order(state.sid, items, links=False), h("p", "This session is over."),
    ])


def _error_page(state: SessionState | None, *, status: int, reason: str, message: str) -> bytes:
    nav = (_back_to_search(state.sid),) if state is not None else ()
    return _page(state, title=f"Shop: {status} {reason}", nav=nav,
                 main=[h("h1", f"{status} {reason}"), h("p", message)])
