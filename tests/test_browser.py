"""The Chromium that `make test` installs launches through Playwright and renders a loopback page."""

from __future__ import annotations

import http.server
import threading

import pytest

from agentgym.browser import find_chromium, launch_chromium

pytestmark = pytest.mark.browser

PAGE = b"<html><head><title>agentgym</title></head><body><button>Buy now</button></body></html>"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


def test_chromium_is_installed() -> None:
    assert find_chromium(), "run `make test` (or python -m agentgym.browser install)"


def test_chromium_renders_a_loopback_page(server: str, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw, home=str(tmp_path))
        page = browser.new_page()
        page.goto(server)
        assert page.title() == "agentgym"
        assert 'button "Buy now"' in page.locator("body").aria_snapshot()
        browser.close()


def test_forced_path_that_does_not_exist_is_a_clear_error(monkeypatch) -> None:
    from agentgym.errors import AgentGymError

    monkeypatch.setenv("AGENTGYM_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(AgentGymError, match="AGENTGYM_CHROMIUM"):
        find_chromium()
