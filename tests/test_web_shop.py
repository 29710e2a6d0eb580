"""The web shop: catalogue, BM25 search, pages and their contract, sessions, loopback server."""

from __future__ import annotations

import random
import re
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from agentgym.envs.web.shop import (
    CATEGORIES, PRODUCT_TYPES, SearchIndex, ShopApp, acquire_server, generate_catalog,
    release_server, tokenize,
)
from agentgym.envs.web.shop.html import ALLOWED_TAGS, h, render_page
from agentgym.errors import AgentGymError, ConfigError, UnknownNameError


@pytest.fixture(scope="module")
def catalog():
    return generate_catalog(n=1200, seed=0)


@pytest.fixture(scope="module")
def app(catalog):
    return ShopApp(catalog)


class Page(HTMLParser):
    """Everything the contract is about: tags inside <body>, their data-agid, text, links, forms."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.in_body, self.title, self._in_title = False, "", False
        self.tags: list[str] = []
        self.agids: list[str | None] = []
        self.texts: list[str] = []
        self.links: dict[str, str] = {}  # link text -> href
        self.buttons: list[str] = []
        self.forms: list[dict] = []
        self._link: str | None = None
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self._in_title = True
        if tag == "body":
            self.in_body = True
            return
        if not self.in_body:
            return
        self.tags.append(tag)
        self.agids.append(attrs.get("data-agid"))
        if tag == "a":
            self._link, self._text = attrs["href"], []
        elif tag == "form":
            self.forms.append({"method": attrs["method"], "action": attrs["action"], "inputs": {},
                               "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"][attrs.get("name")] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag == "a" and self._link is not None:
            self.links["".join(self._text).strip()] = self._link
            self._link = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self.in_body and data.strip():
            self.texts.append(data.strip())
            if self._link is not None:
                self._text.append(data)
            last = self.tags[-1] if self.tags else ""
            if last == "button":
                self.buttons.append(data.strip())
                if self.forms:
                    self.forms[-1]["buttons"].append(data.strip())

    def form(self, button: str) -> dict:
        return next(f for f in self.forms if button in f["buttons"])


def check_contract(body: bytes) -> Page:
    """Assert the page contract of agentgym.envs.web and return the parsed page."""
    html = body.decode("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    page = Page(html)
    assert page.title.strip()
    assert set(page.tags) <= ALLOWED_TAGS, set(page.tags) - ALLOWED_TAGS
    assert page.agids == [str(i) for i in range(1, len(page.tags) + 1)]
    assert "<script" not in html.lower() and "<img" not in html.lower()
    return page


def get(app: ShopApp, target: str) -> tuple[int, dict, Page]:
    status, headers, body = app.handle("GET", target, None)
    assert int(headers["Content-Length"]) == len(body)
    return status, headers, check_contract(body)


def post(app: ShopApp, action: str, inputs: dict[str, str]) -> tuple[int, dict, bytes]:
    return app.handle("POST", action, urlencode(inputs).encode())


# ----------------------------------------------------------------------------- catalogue
def test_catalog_is_deterministic_sized_and_unique(catalog):
    again = generate_catalog(n=1200, seed=0)
    assert list(again) == list(catalog)
    assert [p.pid for p in generate_catalog(n=1200, seed=1)] != list(catalog.pids)
    assert list(generate_catalog(n=50, seed=0)) == list(catalog)[:50]
    assert len(catalog) == 1200
    assert len({p.title for p in catalog}) == 1200
    assert all(re.fullmatch(r"B0[0-9A-Z]{8}", pid) for pid in catalog.pids)
    assert len(CATEGORIES) >= 8 and len(PRODUCT_TYPES) >= 30
    assert len({p.category for p in catalog}) >= 8
    assert len({p.product_type for p in catalog}) >= 30
    for p in catalog:
        assert 0 <= len(p.options) <= 3 and all(len(v) >= 2 for v in p.options.values())
        assert 2 <= len(p.attributes) <= 4 and p.price > 0 and 1.0 <= p.rating <= 5.0
        assert p.brand in p.title and catalog[p.pid] is p
    with pytest.raises(UnknownNameError):
        catalog["B0NOTHERE0"]
    with pytest.raises(ConfigError):
        generate_catalog(n=0)


# -------------------------------------------------------------------------------- search
def test_bm25_ranks_the_exact_title_first(catalog):
    index = SearchIndex(catalog)
    for product in catalog:
        assert index.search(product.title, k=3)[0][0] == product.pid, product.title


def test_bm25_results_and_parameters(catalog):
    index = SearchIndex(catalog, k1=1.5, b=0.5)
    results = index.search("waterproof hiking boots", k=20)
    assert len(results) == 20
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert catalog[results[0][0]].product_type == "hiking boot"
    assert index.search("qwxzv", k=10) == [] and index.search("", k=10) == []
    assert index.search("the and of", k=10) == []  # stop words only
    assert tokenize("Boots, batteries & 16.9 fl oz") == ["boot", "battery", "16.9", "fl", "oz"]
    with pytest.raises(ConfigError):
        SearchIndex(catalog, b=2.0)
    with pytest.raises(ConfigError, match="did you mean|Did you mean"):
        SearchIndex(catalog, field_weights={"titel": 2.0})


# ----------------------------------------------------------------------------------- html
def test_html_builder_escapes_numbers_and_refuses_what_parsers_repair():
    body = [h("main", h("p", "a < b & c"), h("a", "go", href="/x?a=1&b=2"), h("br"))]
    html = render_page(title="T<1>", body=body).decode()
    assert "<title>T&lt;1&gt;</title>" in html and "a &lt; b &amp; c" in html
    assert 'href="/x?a=1&amp;b=2"' in html
    assert check_contract(html.encode()).tags == ["main", "p", "a", "br"]
    with pytest.raises(ValueError):
        h("img")
    with pytest.raises(ValueError):
        h("p", h("div"))  # a parser would close the <p> first
    with pytest.raises(ValueError):
        h("button", "x", type="button")


# ---------------------------------------------------------------------------------- pages
def test_every_page_keeps_the_contract_and_escapes_user_text(app, catalog):
    sid = app.new_session("find <b>socks</b> & more")
    status, _, home = get(app, f"/s/{sid}/")
    assert status == 200 and "Instruction: find <b>socks</b> & more" in home.texts
    assert home.buttons == ["Search"] and home.form("Search")["inputs"] == {"q": ""}
    status, _, results = get(app, f"/s/{sid}/search?q=%3Cscript%3Ealert(1)%3C/script%3E+socks")
    assert status == 200 and "script" not in results.tags
    assert results.form("Search")["inputs"]["q"] == "<script>alert(1)</script> socks"
    status, _, body = app.handle("GET", f"/s/{sid}/search?q=%3Cscript%3Eqqq", None)
    assert b"&lt;script&gt;qqq" in body and "No products match '<script>qqq'. Try other words." \
        in check_contract(body).texts
    pid = next(iter(catalog.by_type("crew socks"))).pid
    targets = [f"/s/{sid}/item/{pid}"] + [f"/s/{sid}/item/{pid}?tab={t}" for t in
                                          ("description", "features", "reviews")]
    targets += [f"/s/{sid}/search?q=boot&page=2&sort=price_desc", f"/s/{sid}/cart",
                f"/s/{sid}/nowhere", "/s/nosuchsession/", f"/s/{sid}/search?q=x&page=0"]
    for target in targets:
        get(app, target)  # contract asserted inside
    assert app.session(sid).instruction == "find <b>socks</b> & more"


def test_results_pages_sorting_and_links(app, catalog):
    sid = app.new_session("look around")
    _, _, first = get(app, f"/s/{sid}/search?q=water+bottle")
    assert "Page 1 of 5 (50 results)" in first.texts and "< Prev" not in first.links
    titles = [t for t in first.links if t not in ("Back to Search", "Next >")]
    all_titles = {p.title for p in catalog}
    assert len(titles) == 10 and set(titles) <= all_titles
    _, _, second = get(app, first.links["Next >"])
    assert "Page 2 of 5 (50 results)" in second.texts and "< Prev" in second.links
    sort = first.form("Sort")
    assert sort["inputs"]["q"] == "water bottle"
    get(app, f"{sort['action']}?{urlencode({'q': 'water bottle', 'sort': 'price_asc'})}")
    events = app.session(sid).events
    assert [e.kind for e in events] == ["search"] * 3
    prices = [catalog[pid].price for pid in events[-1].pids]
    assert prices == sorted(prices) and events[-1].sort == "price_asc"
    assert events[0].pids != events[1].pids and events[0].total == 50 and events[1].page == 2
    assert len(set(events[0].pids) | set(events[1].pids)) == 20


def _first_with_options(catalog, groups: int):
    return next(p for p in catalog if len(p.options) >= groups)


def test_search_item_options_buy_flow_and_event_log(app, catalog):
    product = _first_with_options(catalog, 2)
    sid = app.new_session("buy something")
    _, _, results = get(app, f"/s/{sid}/search?{urlencode({'q': product.title})}")
    _, _, item = get(app, results.links[product.title])
    assert product.title in item.texts and f"Price: ${product.price:.2f}" in item.texts
    assert {"Description", "Features", "Reviews", "< Prev", "Back to Search"} <= set(item.links)
    assert urlsplit(item.links["< Prev"]).path == f"/s/{sid}/search"
    choice = {g: values[-1] for g, values in product.options.items()}
    for group, value in choice.items():  # choose each option by following its link
        _, _, item = get(app, item.links[value])
    for value in choice.values():
        assert f"{value} (selected)" in item.links
    _, _, tab = get(app, item.links["Features"])
    assert product.features[0] in tab.texts
    _, _, item = get(app, tab.links["< Prev"])
    buy = item.form("Buy Now")
    assert buy["method"] == "post" and buy["inputs"] == {
        "pid": product.pid, **{f"opt.{g}": v for g, v in choice.items()}}
    status, headers, body = post(app, buy["action"], buy["inputs"])
    assert (status, headers["Location"], body) == (303, f"/s/{sid}/done", b"")
    _, _, done = get(app, headers["Location"])
    assert "Thank you for shopping with us!" in done.texts and product.title in done.texts
    state = app.session(sid)
    assert state.done and state.purchase == ((product.pid, choice),)
    kinds = [e.kind for e in state.events]
    assert kinds == ["search"] + ["view"] * (1 + len(choice) + 2) + ["purchase"]
    assert state.events[0].query == product.title and product.pid in state.events[0].pids
    views = [e for e in state.events if e.kind == "view"]
    assert views[0].options == {} and views[-1].options == choice
    assert [v.tab for v in views][-2:] == ["features", "overview"]
    status, _, body = post(app, buy["action"], buy["inputs"])  # a second purchase is refused
    assert status == 409 and "session is over" in check_contract(body).texts[-1]
    assert app.session(sid).purchase == ((product.pid, choice),)


def test_cart_and_checkout(app, catalog):
    first, second = list(catalog)[:2]
    sid = app.new_session("fill a cart")
    _, _, item = get(app, f"/s/{sid}/item/{first.pid}")
    status, headers, _ = post(app, item.form("Add to Cart")["action"],
                              item.form("Add to Cart")["inputs"])
    assert (status, headers["Location"]) == (303, f"/s/{sid}/cart")
    options = {g: v[0] for g, v in second.options.items()}
    post(app, f"/s/{sid}/cart/add", {"pid": second.pid, **{f"opt.{g}": v for g, v in
                                                          options.items()}})
    _, _, cart = get(app, f"/s/{sid}/cart")
    assert first.title in cart.links and second.title in cart.links
    assert f"Total: ${first.price + second.price:.2f}" in cart.texts
    status, headers, _ = post(app, cart.form("Checkout")["action"], {})
    assert (status, headers["Location"]) == (303, f"/s/{sid}/done")
    state = app.session(sid)
    assert state.purchase == ((first.pid, {}), (second.pid, options))
    assert [e.kind for e in state.events] == ["view", "cart", "cart", "purchase"]
    _, _, item = get(app, f"/s/{sid}/item/{first.pid}")
    assert post(app, f"/s/{sid}/cart/add", item.form("Add to Cart")["inputs"])[0] == 409


def test_bad_requests_answer_error_pages(app, catalog):
    sid = app.new_session("poke at it")
    product = _first_with_options(catalog, 1)
    group = next(iter(product.options))
    cases = [
        ("GET", "/", None, 404), ("GET", "/s/", None, 404), ("GET", "/s/nope/", None, 404),
        ("GET", f"/s/{sid}/nowhere", None, 404), ("GET", f"/s/{sid}/item/B0XXXXXXXX", None, 404),
        ("GET", f"/s/{sid}/search?q=boot&page=abc", None, 400),
        ("GET", f"/s/{sid}/search?q=boot&page=99", None, 400),
        ("GET", f"/s/{sid}/search?q=boot&page=%C2%B2", None, 400),  # '²' is a digit to isdigit()
        ("GET", f"/s/{sid}/search?q=boot&sort=cheapest", None, 400),
        ("GET", f"/s/{sid}/item/{product.pid}?tab=manual", None, 400),
        ("GET", f"/s/{sid}/item/{product.pid}?opt.{group}=not-a-value", None, 400),
        ("GET", f"/s/{sid}/item/{product.pid}?opt.flavour=x", None, 400),
        ("GET", f"/s/{sid}/buy", None, 405), ("POST", f"/s/{sid}/search", b"q=x", 405),
        ("DELETE", f"/s/{sid}/", None, 405), ("GET", f"/s/{sid}/done", None, 404),
        ("POST", f"/s/{sid}/buy", b"pid=nothing", 400),
        ("POST", f"/s/{sid}/buy", b"\xff\xfe=\x00", 400), ("POST", f"/s/{sid}/checkout", b"", 400),
        ("GET", f"/s/{sid}/search?q=" + "x" * 600, None, 400),
    ]
    for method, target, body, expected in cases:
        status, headers, content = app.handle(method, target, body)
        assert status == expected, (method, target, status)
        page = check_contract(content)
        assert page.texts[-1] and headers["Content-Type"].startswith("text/html")
        if status == 405:
            assert headers["Allow"] in ("GET", "POST", "GET, POST")
    assert app.session(sid).events == () and not app.session(sid).done
    rng = random.Random(0)
    alphabet = "/s?&=%.#:<>\"' abcxyz019" + sid
    for _ in range(300):  # garbage never raises and never finds a bug (500)
        target = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for method in ("GET", "POST"):
            status, _, content = app.handle(method, f"/s/{sid}/" + target, target.encode())
            assert status in (200, 303, 400, 404, 405, 409)
            if status != 303:
                check_contract(content)
    app.end_session(sid)
    assert app.handle("GET", f"/s/{sid}/", None)[0] == 404
    with pytest.raises(KeyError):
        app.session(sid)
    with pytest.raises(AgentGymError):
        app.new_session("x", sid="has space")


# --------------------------------------------------------------------------------- server
def _fetch(url: str, data: bytes | None = None) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_loopback_server_serves_the_same_bytes_and_is_shared(catalog):
    app = ShopApp(catalog)
    server = acquire_server(app)
    other = acquire_server(app)
    try:
        assert other is server and server.origin == f"http://127.0.0.1:{server.port}"
        sid = app.new_session("browse over http")
        for path in (f"/s/{sid}/", f"/s/{sid}/search?q=yoga+mat&page=2&sort=price_desc",
                     f"/s/{sid}/item/{catalog.pids[0]}?tab=features", f"/s/{sid}/nowhere"):
            status, ctype, body = _fetch(server.url(path))
            assert (status, body) == app.handle("GET", path, None)[::2]
            assert ctype == "text/html; charset=utf-8"
        product = catalog[catalog.pids[0]]
        status, _, body = _fetch(server.url(f"/s/{sid}/buy"), f"pid={product.pid}".encode())
        assert status == 200 and body == app.handle("GET", f"/s/{sid}/done", None)[2]
        assert app.session(sid).purchase == ((product.pid, {}),)
        sids = [app.new_session(f"episode {i}") for i in range(8)]
        with ThreadPoolExecutor(8) as pool:  # many episodes at once on one server
            replies = list(pool.map(lambda s: _fetch(server.url(f"/s/{s}/search?q=tent")), sids))
        assert all(r[0] == 200 for r in replies) and len({r[2] for r in replies}) == 8
        assert all(len(app.session(s).events) == 1 for s in sids)
    finally:
        release_server(other)
    assert _fetch(server.url(f"/s/{sid}/"))[0] == 200  # one user left: still serving
    release_server(server)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    with pytest.raises(AgentGymError, match="no users left"):
        release_server(server)
    fresh = acquire_server(app)  # a later acquire starts a new server
    try:
        assert fresh is not server and _fetch(fresh.url(f"/s/{sid}/"))[0] == 200
    finally:
        release_server(fresh)


def test_query_strings_round_trip_option_values_with_spaces(app, catalog):
    product = next(p for p in catalog if any(" " in v for vs in p.options.values() for v in vs))
    group, value = next((g, v) for g, vs in product.options.items() for v in vs if " " in v)
    sid = app.new_session("spaces")
    _, _, item = get(app, f"/s/{sid}/item/{product.pid}")
    _, _, item = get(app, item.links[value])
    assert f"{value} (selected)" in item.links
    assert parse_qs(urlsplit(item.links["Reviews"]).query)[f"opt.{group}"] == [value]
    assert app.session(sid).events[-1].options == {group: value}


@pytest.mark.browser
def test_chromium_builds_the_same_tree_and_can_shop_by_clicking(catalog, tmp_path):
    from playwright.sync_api import sync_playwright

    from agentgym.browser import launch_chromium

    app = ShopApp(catalog)
    product = next(p for p in catalog if len(p.options) == 3)
    sid = app.new_session("find <b>socks</b> & <script>alert(1)</script>")
    app.handle("POST", f"/s/{sid}/cart/add", f"pid={product.pid}".encode())
    paths = [f"/s/{sid}/", f"/s/{sid}/search?q=%3Cscript%3E+yoga+mat&page=2&sort=price_desc",
             f"/s/{sid}/item/{product.pid}", f"/s/{sid}/item/{product.pid}?tab=reviews",
             f"/s/{sid}/cart", f"/s/{sid}/search?q=x&page=0", "/s/unknown/"]
    tree = "() => [...document.body.querySelectorAll('*')].map(e => [e.localName, e.dataset.agid])"
    server = acquire_server(app)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, home=str(tmp_path))
            page = browser.new_page()
            for path in paths:  # no element moved or added by the browser's parser
                page.goto(server.url(path))
                parsed = Page(app.handle("GET", path, None)[2].decode())
                assert page.evaluate(tree) == [list(x) for x in zip(parsed.tags, parsed.agids)]
            page.goto(server.url(f"/s/{sid}/"))
            page.fill("#q", product.title)
            page.click("button:has-text('Search')")
            page.select_option("#sort", "price_desc")
            page.click("button:has-text('Sort')")
            top = catalog[app.session(sid).events[-1].pids[0]]  # the dearest match
            page.click(f"a:text-is('{top.title}')")
            chosen = {g: v[0] for g, v in list(top.options.items())[:1]}
            for value in chosen.values():
                page.click(f"a:text-is('{value}')")
            page.click("button:has-text('Buy Now')")
            page.wait_for_url("**/done")
            assert "Thank you for shopping with us!" in page.locator("h1").inner_text()
            browser.close()
    finally:
        release_server(server)
    state = app.session(sid)
    assert state.purchase == ((top.pid, chosen),)
    searches = [e for e in state.events if e.kind == "search"]
    assert [e.sort for e in searches][-2:] == ["relevance", "price_desc"]


def _dump(parsed) -> tuple:
    """Everything a parse holds: the title, and each element's tag, attributes, id, parent and
    children (text exactly, elements by position)."""
    from agentgym.envs.web.htmlparse import Element

    body, elements, title = parsed

    def node(el):
        return (el.tag, tuple(el.attrs.items()), el.agid, el.index,
                el.parent.index if el.parent is not None else None,
                tuple(c if isinstance(c, str) else ("el", c.index) for c in el.children))
    assert all(isinstance(el, Element) for el in elements)
    return title, node(body), tuple(node(el) for el in elements)


def test_pages_built_from_the_shop_nodes_equal_their_tokenized_parse(monkeypatch):
    """The text backend skips tokenizing the shop's pages (the app announces each page with its
    nodes); on every page of random walks (results, items, tabs, cart, done, errors, odd
    user text) that parse equals what the tokenizer makes of the HTML."""
    import gymnasium as gym

    from agentgym.envs.web import htmlparse

    checked = []
    handle = ShopApp.handle

    def compare(self, method, target, body=None):
        status, headers, data = handle(self, method, target, body)
        if data:
            text = data.decode("utf-8")
            assert text in htmlparse._PREPARED  # announced by render_page
            fast = htmlparse.parse_html(text)
            assert text not in htmlparse._PREPARED
            assert _dump(fast) == _dump(htmlparse.parse_html(text))  # now tokenized
            checked.append(status)
        return status, headers, data

    monkeypatch.setattr(ShopApp, "handle", compare)
    rng = random.Random(3)
    env = gym.make("agentgym/WebShop-v0", split="train")
    try:
        for episode in range(12):
            _, info = env.reset(seed=episode)
            for _ in range(10):
                actions = info["candidate_actions"] + ["fill('q', 'a\\r\\nb & <c> \"d\"')",
                                                        "goto('/s/x/nowhere?q=%00')"]
                expert = info.get("expert_action")  # None where the oracle has no plan
                _, _, term, trunc, info = env.step(expert if expert and rng.random() < .3
                                                   else rng.choice(actions))
                if term or trunc:
                    break
    finally:
        env.close()
    assert len(checked) > 60 and {200, 404} <= set(checked)
