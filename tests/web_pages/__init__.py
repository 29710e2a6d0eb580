"""Fixture pages for the web backends' tests: a tiny shop app and loopback HTTP servers.

:class:`TinyShop` keeps the web environment's contract (plain HTML, ``data-agid`` on every body
element, ``handle(method, target, body) -> (status, headers, bytes)``) and covers the tag
vocabulary: a search form, results with a sort select and pagination links, item pages with option
links, tabs and POST forms answered by 303, a cart with server-side state, a page of nested lists,
labels, whitespace and entities, a page without ``data-agid``, and a page that points at another
origin. :class:`Served` puts an app behind a real ``ThreadingHTTPServer`` on ``127.0.0.1:0`` and
counts its requests.
"""

from __future__ import annotations

import html
import http.server
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, quote_plus, urlsplit

__all__ = ["Served", "TinyShop", "find_id", "number_elements"]

Response = tuple[int, list[tuple[str, str]], bytes]

CATALOG = [
    (1, "Red running shoes", 12.99), (2, "Blue running shoes", 24.50),
    (3, "Red wool socks", 4.99), (4, "Green rain jacket", 59.00),
    (5, "Red café mug", 7.25), (6, "Trail shoes, waterproof", 89.90),
]


def find_id(text: str, part: str) -> str:
    """The ``[id]`` of the first observation line that contains ``part`` and has an id."""
    for line in text.splitlines():
        if part in line and line.strip().startswith("["):
            return line.strip()[1:].split("]", 1)[0]
    raise AssertionError(f"no line with an id contains {part!r}:\n{text}")


def number_elements(page: str) -> str:
    """Give every element inside ``<body>`` a ``data-agid``: 1, 2, 3, ... in document order."""
    head, sep, body = page.partition("<body>")
    count = 0

    def add(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f'<{match.group(1)} data-agid="{count}"{match.group(2)}>'

    return head + sep + re.sub(r"<([a-zA-Z][a-zA-Z0-9]*)((?:\s[^<>]*)?)>", add, body)


def _page(title: str, body: str, *, cart: int) -> str:
    return number_elements(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>\n"
        f"<header><nav><a href=\"/\">Home</a> |\n  <a href=\"/cart\">Cart ({cart})</a></nav>"
        f"</header>\n<main>{body}</main>\n"
        "<footer><p>&copy; 2024 Tiny&nbsp;Shop</p></footer>\n</body></html>")


class TinyShop:
    """A small web shop; state (the cart) lives in the instance."""

    def __init__(self, *, elsewhere: str = "http://127.0.0.1:9") -> None:
        self.cart: list[tuple[int, str, int]] = []
        self.elsewhere = elsewhere
        self.requests: list[tuple[str, str, bytes]] = []
        self.slow_s = 1.0

    def handle(self, method: str, target: str, body: bytes) -> Response:
        """Answer one request (``target`` is the path with its query)."""
        self.requests.append((method, target, body))
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        routes: dict[tuple[str, str], Callable[..., Response]] = {
            ("GET", "/"): self._home, ("GET", "/search"): self._search,
            ("GET", "/cart"): self._cart, ("POST", "/cart"): self._add,
            ("POST", "/buy"): self._buy, ("GET", "/done"): self._done,
            ("GET", "/misc"): self._misc, ("GET", "/plain"): self._plain,
            ("GET", "/iso"): self._iso, ("GET", "/out"): self._out,
            ("POST", "/cart/clear"): self._clear, ("GET", "/slow"): self._slow,
        }
        if method == "GET" and parts.path.startswith("/item/"):
            return self._item(parts.path.rsplit("/", 1)[1], query)
        handler = routes.get((method, parts.path))
        if handler is None:
            return self._html(404, "Not found", "<h1>Not found</h1><p>No such page.</p>")
        return handler(query=query, form=form)

    def _html(self, status: int, title: str, body: str) -> Response:
        data = _page(title, body, cart=len(self.cart)).encode()
        return status, [("Content-Type", "text/html; charset=utf-8")], data

    @staticmethod
    def _redirect(location: str) -> Response:
        return 303, [("Location", location), ("Content-Length", "0")], b""

    def _home(self, **_: dict) -> Response:
        return self._html(200, "Tiny Shop", """
<h1>Find   something &amp; more</h1>
<form method="get" action="/search">
  <label for="q">Search</label>
  <input type="search" id="q" name="q" placeholder="e.g. red shoes">
  <input type="hidden" name="src" value="home">
  <button type="submit">Search</button>
</form>
<p>Popular: <a href="/search?q=red shoes">red shoes</a>,
   <a href="search?q=caf%C3%A9">café</a></p>""")

    def _search(self, *, query: dict, **_: dict) -> Response:
        q, sort = query.get("q", ""), query.get("sort", "relevance")
        page = int(query.get("page", "1") or 1)
        words = q.lower().split()
        hits = [it for it in CATALOG if all(w in it[1].lower() for w in words)]
        if sort == "price_asc":
            hits.sort(key=lambda it: it[2])
        elif sort == "price_desc":
            hits.sort(key=lambda it: -it[2])
        shown = hits[(page - 1) * 3:page * 3]
        options = "".join(
            f'<option value="{v}"{" selected" if v == sort else ""}>{t}</option>'
            for v, t in [("relevance", "Relevance"), ("price_asc", "Price: low to high"),
                         ("price_desc", "Price: high to low")])
        items = "".join(f'\n  <li><a href="/item/{i}?q={quote_plus(q)}">{html.escape(n)}</a> '
                        f'<span>${p:.2f}</span></li>' for i, n, p in shown)
        pages = " ".join(f'<a href="?q={quote_plus(q)}&amp;sort={sort}&amp;page={n}">{n}</a>'
                         for n in range(1, (len(hits) + 2) // 3 + 1))
        return self._html(200, f"Results for {html.escape(q)}", f"""
<h1>Results for “{html.escape(q)}”</h1>
<form method="get" action="/search"><input type="hidden" name="q" value="{html.escape(q)}">
<label>Sort by <select name="sort">{options}</select></label>
<input type="submit" value="Apply"></form>
<p>{len(hits)} results</p>
<ul>{items}</ul>
<nav aria-label="Pages">Pages: {pages}</nav>""")

    def _item(self, number: str, query: dict) -> Response:
        item = next((it for it in CATALOG if str(it[0]) == number), None)
        if item is None:
            return self._html(404, "No such item", "<h1>No such item</h1>")
        i, name, price = item
        size, tab = query.get("size", "M"), query.get("tab", "description")
        sizes = "".join(f'<li><a href="/item/{i}?size={s}">{s}</a>'
                        f'{" <em>(selected)</em>" if s == size else ""}</li>' for s in "SML")
        text = ("Light and fast." if tab == "description" else
                "<ul><li>Great fit! <strong>5/5</strong></li><li>Too small.</li></ul>")
        return self._html(200, html.escape(name), f"""
<h1>{html.escape(name)}</h1><p>Price: <strong>${price:.2f}</strong></p>
<section aria-label="Options"><h2>Size</h2><ul>{sizes}</ul></section>
<nav aria-label="Tabs"><a href="?size={size}&amp;tab=description">Description</a> |
 <a href="?size={size}&amp;tab=reviews">Reviews</a></nav>
<div>{text}</div>
<form method="post" action="/cart"><input type="hidden" name="item" value="{i}">
<input type="hidden" name="size" value="{size}">
<label for="qty">Quantity</label>
<select id="qty" name="qty"><option>1</option><option>2</option><option>3</option></select>
<button type="submit" name="action" value="add">Add to cart</button></form>
<form method="post" action="/buy"><input type="hidden" name="item" value="{i}">
<button type="submit">Buy Now</button></form>
<p><a href="/search?q={quote_plus(query.get('q', ''))}">Back to results</a></p>""")

    def _add(self, *, form: dict, **_: dict) -> Response:
        self.cart.append((int(form.get("item", 0)), form.get("size", ""),
                          int(form.get("qty", 1) or 1)))
        return self._redirect("/cart")

    def _clear(self, **_: dict) -> Response:
        self.cart.clear()
        return self._redirect("/cart")

    def _buy(self, *, form: dict, **_: dict) -> Response:
        return self._redirect(f"/done?item={form.get('item', '')}")

    def _done(self, *, query: dict, **_: dict) -> Response:
        return self._html(200, "Thank you", f"<h1>Thank you!</h1><p>Order for item "
                                            f"{html.escape(query.get('item', ''))} placed.</p>")

    def _cart(self, **_: dict) -> Response:
        rows = "".join(f"<li>{CATALOG[i - 1][1]} (size {s}) × {n}</li>" for i, s, n in self.cart)
        return self._html(200, "Your cart", f"""
<h1>Your cart</h1><ul>{rows or '<li>Empty</li>'}</ul>
<form method="post" action="/cart/clear"><input type="submit" value="Empty the cart"></form>""")

    def _misc(self, **_: dict) -> Response:
        return self._html(200, "  Misc   &amp; edge   cases ", """
<section aria-label="Nested">
<ul><li>Top <ul><li>Inner <strong>bold</strong> &amp; <em>it's</em></li><li>Second</ul>
  <li>Last</ul>
<ol><li><p>Para   in
  item</p></ol>
<form method="get" action="/misc">
<label>Name: <input type="text" name="name" value="  Ann  "> (required)</label>
<label for="c">Colour</label> <label for="c">(pick one)</label>
<select id="c" name="c"><option value="r">Red</option><option value="g" disabled>Green
</option><option>  Blue&nbsp;sky </option></select>
<input type="text" name="note" aria-label="Note" placeholder="optional">
<input type="submit" name="go"></form>
<p>Line one<br>Line two &lt;tag&gt; &quot;quoted&quot; &#169; 2024</p>
<div><span>Inline</span><span>Joined</span> <a href="#top">Top</a></div>
<div hidden><a href="/secret">Secret</a></div>
<h2><a href="/misc?x=1">Linked   heading</a></h2>
<p></p>
<button type="submit">Outside a form</button>
</section>""")

    def _plain(self, **_: dict) -> Response:
        page = ("<!DOCTYPE html><html><head><title>Plain</title></head><body><h1>No ids</h1>"
                "<p>Here <a href='/'>home</a>.</p><form action='/search'><input name='q'>"
                "<input type='submit' value='Go'></form></body></html>")
        return 200, [("Content-Type", "text/html")], page.encode()

    def _iso(self, **_: dict) -> Response:
        b = self.elsewhere
        page = (f"<!DOCTYPE html><html><head><title>Isolation</title>"
                f"<link rel='stylesheet' href='{b}/style.css'><script src='{b}/x.js'></script>"
                f"</head><body><p>Elsewhere: <a href='{b}/page'>a link to B</a></p>"
                f"<img src='{b}/pic.png' alt=''><iframe src='{b}/frame'></iframe>"
                f"<form method='get' action='{b}/submit'><input name='q'>"
                f"<input type='submit' value='Send to B'></form>"
                f"<a href='/out'>Redirect to B</a></body></html>")
        return 200, [("Content-Type", "text/html")], number_elements(page).encode()

    def _slow(self, **_: dict) -> Response:
        time.sleep(self.slow_s)
        return self._html(200, "Slow", "<p>Finally.</p>")

    def _out(self, **_: dict) -> Response:
        return 302, [("Location", f"{self.elsewhere}/landing")], b""


class Served:
    """``app.handle`` behind a real HTTP server on ``127.0.0.1:<free port>``.

    Attributes:
        origin: ``http://127.0.0.1:<port>``.
        hits: The ``(method, path)`` of every request it received.
    """

    def __init__(self, handle: Callable[[str, str, bytes], Response]) -> None:
        self.hits: list[tuple[str, str]] = []
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                served.hits.append((self.command, self.path))
                status, headers, data = handle(self.command, self.path, body)
                self.send_response(status)
                for key, value in headers:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the browser moved on
                    pass

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()
