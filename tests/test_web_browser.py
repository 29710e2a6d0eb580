"""The browser backend in a real Chromium, against the text backend on the same pages.

Real loopback HTTP servers (``web_pages.Served``) on 127.0.0.1; the text backend calls a second,
fresh instance of the same app directly, so both see the same server state step by step.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_pages import Served, TinyShop, find_id

from agentgym.browser import find_chromium
from agentgym.envs.web.browser_backend import BrowserBackend
from agentgym.envs.web.text_backend import TextBackend
from agentgym.errors import AgentGymError

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None,
                       reason="no Chromium: run python -m agentgym.browser install"),
]


class Switchable:
    """A server whose app can be replaced between tests (one browser for the whole module)."""

    def __init__(self) -> None:
        self.app = TinyShop()
        self.served = Served(lambda m, t, b: self.app.handle(m, t, b))


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Served]:
    """Origin B: a server that must never be reached by the browser."""
    server = Served(lambda m, t, b: (200, [("Content-Type", "text/html")], b"<p>B</p>"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def site(elsewhere: Served) -> Iterator[Switchable]:
    switchable = Switchable()
    yield switchable
    switchable.served.close()


@pytest.fixture(scope="module")
def browser(site: Switchable) -> Iterator[BrowserBackend]:
    backend = BrowserBackend(origin=site.served.origin, timeout_ms=3000)
    yield backend
    backend.close()


@pytest.fixture()
def pair(site: Switchable, elsewhere: Served,
         browser: BrowserBackend) -> tuple[TextBackend, BrowserBackend]:
    """A text backend on a fresh shop, and the browser on another fresh shop behind HTTP."""
    site.app = TinyShop(elsewhere=elsewhere.origin)
    return TextBackend(TinyShop(elsewhere=elsewhere.origin).handle,
                       origin=site.served.origin), browser


def same_view(text: TextBackend, browser: BrowserBackend) -> str:
    mine, real = text.observe(), browser.observe()
    assert (mine.url, mine.title) == (real.url, real.title)
    assert mine.text == real.text, f"text backend:\n{mine.text}\n\nbrowser:\n{real.text}"
    return real.text


@pytest.mark.parametrize("path", ["/", "/search?q=shoes", "/search?q=red&sort=price_asc",
                                  "/item/2?tab=reviews&size=L", "/misc", "/cart", "/plain",
                                  "/nope", "/search?q=caf%C3%A9 mug&page=1"])
def test_both_backends_see_the_same_page(pair, path: str) -> None:
    text, browser = pair
    text.open(path)
    browser.open(path)
    assert "RootWebArea" in same_view(text, browser)


#: (action template, what to look up for {id}): the same steps on both backends.
JOURNEY = [
    ("fill('{id}', 'shoes')", "searchbox"), ("press('{id}', 'Enter')", "searchbox"),
    ("select_option('{id}', 'Price: low to high')", "combobox"), ("click('{id}')", "Apply"),
    ("click('{id}')", "link '1'"), ("click('{id}')", "Blue running shoes"),
    ("click('{id}')", "link 'L'"), ("click('{id}')", "link 'Reviews'"),
    ("select_option('{id}', '2')", "combobox 'Quantity'"), ("click('{id}')", "Add to cart"),
    ("go_back()", None), ("go_back()", None), ("go_forward()", None), ("go_forward()", None),
    ("go_back()", None), ("click('{id}')", "Buy Now"), ("goto('/misc')", None),
    ("fill('{id}', 'Bob Smith')", "textbox 'Name"), ("select_option('{id}', 'blue sky')",
                                                      "combobox"),
    ("fill('{id}', 'ring twice')", "textbox 'Note'"), ("click('{id}')", "link 'Top'"),
    ("go_back()", None), ("press('{id}', 'Enter')", "textbox 'Note'"), ("go_back()", None),
    ("click('{id}')", "Outside a form"), ("click('{id}')", "link 'Linked heading'"),
    ("goto('/misc?x=1')", None), ("go_back()", None), ("click('999')", None),
    ("fill('{id}', 'x')", "heading"), ("select_option('{id}', 'x')", "textbox"),
    ("select_option('{id}', 'Greenish')", "combobox"), ("click('{id}')", "option 'Red'"),
    ("goto('http://example.com/')", None), ("click(", None), ("scroll(0, 400)", None),
    ("noop()", None), ("press('{id}', 'a')", "textbox 'Note'"), ("goto('/cart')", None),
    ("click('{id}')", "Empty the cart"), ("go_forward()", None), ("stop('done')", None),
]


def test_the_same_actions_lead_to_the_same_pages(pair) -> None:
    text, browser = pair
    text.open("/")
    browser.open("/")
    view = same_view(text, browser)
    for template, look_for in JOURNEY:
        action = template.format(id=find_id(view, look_for)) if look_for else template
        errors = text.act(action), browser.act(action)
        assert errors[0] == errors[1], (action, errors)
        view = same_view(text, browser)
    assert text.url.endswith("/cart") and "listitem" in view and "Empty" in view


def test_browser_never_reaches_another_origin(pair, elsewhere: Served) -> None:
    text, browser = pair
    browser.open("/iso")
    text.open("/iso")
    view = browser.observe().text
    for look_for in ("a link to B", "Send to B"):
        action = f"click('{find_id(view, look_for)}')"
        assert "refused" in browser.act(action) and "refused" in text.act(action)
    goto = f"goto('{elsewhere.origin}/page')"
    assert "refused" in browser.act(goto) and "refused" in text.act(goto)
    redirect = f"click('{find_id(view, 'Redirect to B')}')"
    assert browser.act(redirect) == text.act(redirect) != ""
    assert browser.url.endswith("/iso") and text.url.endswith("/iso")
    assert elsewhere.hits == []
    assert any(url.startswith(elsewhere.origin) for url in browser.blocked)


def test_errors_are_strings_and_timeouts_too(pair, site: Switchable) -> None:
    _, browser = pair
    browser.open("/misc")
    view = browser.observe().text
    assert "No element with id" in browser.act("click('4242')")
    assert "needs a select" in browser.act(f"select_option('{find_id(view, 'textbox')}', 'x')")
    assert "Invalid action" in browser.act("click('1'")
    site.app.slow_s = 3.0  # a loaded machine can take a few hundred ms for a normal page
    fast = BrowserBackend(origin=site.served.origin, timeout_ms=1200)
    try:
        fast.open("/")
        assert "did not finish within 1200 ms" in fast.act("goto('/slow')")
        assert fast.act("goto('/cart')") == "" and "Your cart" in fast.observe().title
    finally:
        fast.close()


def _chromium_pids(home: str) -> list[int]:
    """The browser processes launched with our scratch HOME (the main one first)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"HOME={home}".encode() in environ and b"--type=" not in cmdline:
            found.append(int(entry.name))
    return found


def test_a_killed_browser_is_relaunched_at_the_next_open(site: Switchable) -> None:
    site.app = TinyShop()
    backend = BrowserBackend(origin=site.served.origin, screenshot=True, timeout_ms=3000)
    try:
        backend.open("/")
        assert backend.observe().screenshot[:8] == b"\x89PNG\r\n\x1a\n"
        pids = _chromium_pids(os.path.join(backend._home, "home"))
        assert pids, "could not find the Chromium process"
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
        error = backend.act("goto('/cart')")
        assert error != ""
        with pytest.raises(AgentGymError, match="open"):
            backend.observe()
        backend.open("/cart")
        assert backend.observe().title == "Your cart"
    finally:
        backend.close()
