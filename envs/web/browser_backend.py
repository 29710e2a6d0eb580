"""Browsing in a real Chromium, driven through Playwright's sync API.

:class:`BrowserBackend` has the same API and the same observations as
:class:`~agentgym.envs.web.text_backend.TextBackend`: the tree text comes from Chromium's own
accessibility tree (CDP ``Accessibility.getFullAXTree``), its ids from the DOM's ``data-agid``
(``DOM.getDocument``), pruned and rendered by the rules of :mod:`agentgym.envs.web.tree`. Actions
are checked by the same :func:`~agentgym.envs.web.actions.plan_action` and then done for real
(mouse clicks, typing, selecting, key presses, wheel scrolls, history navigation).

The browser only talks to ``origin``: every other request is aborted by a route handler before it
leaves, and links, forms and ``goto`` leading elsewhere are refused. Redirects, which Playwright's
route handler does not see, are caught one level lower: the context's proxy is a local port that
refuses every connection, and only ``origin`` bypasses it. JavaScript is off (the pages have
none), so the page cannot change what the agent sees behind its back.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from typing import Any
from urllib.parse import urlsplit

from agentgym.envs.web.actions import (
    REDIRECT_REFUSED,
    Action,
    ElementInfo,
    FormInfo,
    Plan,
    normalize_url,
    origin_of,
    parse_action,
    plan_action,
)
from agentgym.envs.web.tree import AXNode, PageObservation, normalize_space, prune, render
from agentgym.errors import AgentGymError, EnvCrashedError, MissingExtraError

__all__ = ["BrowserBackend"]

log = logging.getLogger(__name__)

#: Where a real click on ``el`` lands: scrolled into view, the centre of its first box, or why
#: it cannot be clicked there.
_POINT_JS = """(el) => {
  el.scrollIntoViewIfNeeded(true);
  const box = Array.from(el.getClientRects()).find((r) => r.width > 0 && r.height > 0);
  if (!box) return {error: 'has no size on the page, so it cannot be clicked'};
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  if (hit !== el && !el.contains(hit)) return {error: 'is covered by another element'};
  return {x: x, y: y};
}"""

#: Numbers a page's body elements 1, 2, 3, ... when none has a ``data-agid``; then returns the
#: facts about element ``a.agid`` (or null) and how many ids the page has; with ``a.point``, also
#: where a click on it lands (``_POINT_JS``; scrolled into view first), saving a round trip.
_ELEMENT_JS = """(a) => {
  const agid = a.agid;
  const body = document.body;
  if (!body) return {count: 0, info: null};
  if (!body.querySelector('[data-agid]')) {
    let n = 0;
    for (const el of body.querySelectorAll('*')) el.setAttribute('data-agid', String(++n));
  }
  const ids = new Set(Array.from(body.querySelectorAll('[data-agid]'),
                                 (e) => e.getAttribute('data-agid')));
  if (agid === null) return {count: ids.size, info: null};
  const el = body.querySelector('[data-agid="' + CSS.escape(agid) + '"]');
  if (!el) return {count: ids.size, info: null};
  const tag = el.localName;
  const BLOCKING = new Set(['text', 'search', 'email', 'url', 'tel', 'password', 'date',
                            'month', 'week', 'time', 'datetime-local', 'number']);
  const isSubmit = (e) => e.localName === 'button' ? e.type === 'submit'
      : (e.localName === 'input' && (e.type === 'submit' || e.type === 'image'));
  const formInfo = (f) => {
    if (!f) return null;
    const els = Array.from(f.elements);
    const blocking = els.filter((e) => e.localName === 'input' && BLOCKING.has(e.type)).length;
    const method = (f.getAttribute('method') || '').trim().toLowerCase();
    return {action: f.getAttribute('action'), method: method === 'post' ? 'post' : 'get',
            enter_submits: els.some(isSubmit) || blocking === 1};
  };
  const button = el.closest('button, input');
  const link = el.closest('a[href]');
  const chooser = tag === 'option' ? el.closest('select') : null;
  const controls = ['input', 'select', 'button', 'textarea'];
  const disables = controls.concat(['option', 'optgroup', 'fieldset']);
  return {count: ids.size, point: a.point ? (__POINT__)(el) : null, info: {
    agid: agid, tag: tag, input_type: tag === 'input' ? el.type : '',
    hidden: !!el.closest('[hidden], head, title, meta, link, style, script, base, template')
        || (tag === 'input' && el.type === 'hidden'),
    disabled: disables.includes(tag) && el.hasAttribute('disabled'),
    readonly: tag === 'input' && el.hasAttribute('readonly'),
    href: link ? link.getAttribute('href') : null,
    submits: button && isSubmit(button) ? formInfo(button.form) : null,
    form: controls.includes(tag) ? formInfo(el.form) : null,
    options: tag === 'select' ? Array.from(el.options, (o) => [o.label, o.value, o.disabled])
        : [],
    select: chooser ? chooser.getAttribute('data-agid') : null}};
}""".replace("__POINT__", _POINT_JS)


_THREAD = threading.local()


def _acquire_playwright() -> Any:
    """This thread's Playwright (the sync API allows one per thread), started on first use."""
    state = getattr(_THREAD, "playwright", None)
    if state is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingExtraError("BrowserBackend", "web", ["playwright"]) from exc
        state = _THREAD.playwright = [sync_playwright().start(), 0]
    state[1] += 1
    return state[0]


def _release_playwright() -> None:
    state = getattr(_THREAD, "playwright", None)
    if state is not None:
        state[1] -= 1
        if state[1] <= 0:
            _THREAD.playwright = None
            state[0].stop()


#: Gets element ``agid`` ready for an action: ``select`` chooses option ``index`` (with the input
#: and change events a user's choice fires), ``fill`` focuses it and selects its text (emptying
#: it when the new text is empty), ``focus`` focuses it, ``point`` scrolls it into view and
#: returns the centre of its first box, after checking that a click there would reach it.
_DO_JS = """(a) => {
  const el = document.body && document.body.querySelector(
      '[data-agid="' + CSS.escape(a.agid) + '"]');
  if (!el) return {error: 'is no longer on the page'};
  if (a.op === 'select') {
    el.selectedIndex = a.index;
    for (const kind of ['input', 'change']) el.dispatchEvent(new Event(kind, {bubbles: true}));
    return {};
  }
  if (a.op !== 'point') {
    el.focus();
    if (a.op === 'fill') {
      el.select();
      if (a.empty) el.value = '';
    }
    return {};
  }
  return (__POINT__)(el);
}""".replace("__POINT__", _POINT_JS)

_ENTER = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
          "nativeVirtualKeyCode": 13, "text": "\r", "unmodifiedText": "\r"}


class _PageError(Exception):
    """An action that the page cannot take (its message is for the agent)."""


def _element_info(raw: dict[str, Any] | None) -> ElementInfo | None:
    if raw is None:
        return None
    forms = {k: None if raw[k] is None else FormInfo(**raw[k]) for k in ("submits", "form")}
    options = tuple((str(o[0]), str(o[1]), bool(o[2])) for o in raw["options"])
    return ElementInfo(**{**raw, **forms, "options": options})


def _agids(document: dict[str, Any]) -> tuple[dict[int, str], bool]:
    """``backendNodeId -> data-agid`` from ``DOM.getDocument``, and whether body has any."""
    found: dict[int, str] = {}
    in_body = False
    todo = [(document, False)]
    while todo:
        node, inside = todo.pop()
        attrs = node.get("attributes") or ()
        for i in range(0, len(attrs) - 1, 2):
            if attrs[i] == "data-agid":
                found.setdefault(node["backendNodeId"], attrs[i + 1])
                in_body = in_body or inside
        below = inside or node.get("localName") == "body"
        todo.extend((child, below) for child in node.get("children") or ())
    return found, in_body


def _ax_root(nodes: list[dict[str, Any]], agids: dict[int, str]) -> AXNode:
    """The raw tree (:class:`AXNode`) of CDP's ``Accessibility.getFullAXTree`` nodes."""
    made: dict[str, AXNode] = {}
    for node in nodes:
        value = (node.get("value") or {}).get("value")
        made[node["nodeId"]] = AXNode(
            role=str((node.get("role") or {}).get("value", "")),
            name=str((node.get("name") or {}).get("value", "") or ""),
            value=None if value is None else str(value),
            agid=agids.get(node.get("backendDOMNodeId", -1)),
            ignored=bool(node.get("ignored", False)))
    root = None
    for node in nodes:
        made[node["nodeId"]].children = [made[c] for c in node.get("childIds", ()) if c in made]
        if root is None and not node.get("parentId"):
            root = made[node["nodeId"]]
    return root if root is not None else AXNode("RootWebArea")


class BrowserBackend:
    """A Chromium tab with the same API and observations as ``TextBackend``.

    Args:
        origin: The only origin the browser may talk to (``http://127.0.0.1:8000``).
        headless: Run Chromium without a window.
        screenshot: Put a PNG of the viewport in every observation (costs ~20-50 ms a step).
        timeout_ms: Limit for each navigation and each action; running over it is an error
            message for the agent.
        executable_path: The Chromium to run; default: :func:`agentgym.browser.find_chromium`.
        viewport: Viewport width and height in pixels.

    Use it from the thread that made it (Playwright's sync API); backends in one thread share
    one Playwright driver. A backend is done after :meth:`close`.
    """

    def __init__(self, *, origin: str, headless: bool = True, screenshot: bool = False,
                 timeout_ms: int = 5000, executable_path: str | None = None,
                 viewport: tuple[int, int] = (1280, 720)) -> None:
        if urlsplit(origin).scheme not in ("http", "https") or not urlsplit(origin).hostname:
            raise AgentGymError(f"origin must look like 'http://127.0.0.1:8000', got {origin!r}.")
        if timeout_ms <= 0:
            raise AgentGymError(f"timeout_ms must be positive, got {timeout_ms}.")
        self.origin = origin_of(origin)
        self.headless, self.screenshot, self.timeout_ms = headless, screenshot, timeout_ms
        self.executable_path, self.viewport = executable_path, viewport
        self.blocked: list[str] = []  #: URLs the route handler refused, oldest first
        self._home = tempfile.mkdtemp(prefix="agentgym-web-")
        # A bound port that never listens: connections to it are refused. It is the proxy for
        # everything but the origin, so nothing (not even a redirect) reaches another host.
        self._dead_end = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead_end.bind(("127.0.0.1", 0))
        self._playwright: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._page: Any = None
        self._cdp: Any = None
        self._point: tuple[str | None, dict[str, Any] | None] = (None, None)

    # -- lifecycle
    def _launch(self) -> None:
        from agentgym.browser import CHROMIUM_ARGS, launch_chromium

        if self._playwright is None:
            self._playwright = _acquire_playwright()
        home = os.path.join(self._home, "home")
        if self.executable_path is None:
            self._browser = launch_chromium(self._playwright, headless=self.headless, home=home)
            return
        args = list(CHROMIUM_ARGS) + (["--no-sandbox"] if os.geteuid() == 0 else [])
        self._browser = self._playwright.chromium.launch(
            executable_path=self.executable_path, headless=self.headless, args=args,
            env={**os.environ, "HOME": home})

    def _new_tab(self) -> None:
        if self._browser is None or not self._browser.is_connected():
            self._discard_browser()
            self._launch()
        self._close_tab()
        parts = urlsplit(self.origin)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        context = self._browser.new_context(
            java_script_enabled=False, service_workers="block",
            viewport={"width": self.viewport[0], "height": self.viewport[1]},
            proxy={"server": f"http://127.0.0.1:{self._dead_end.getsockname()[1]}",
                   "bypass": f"{parts.hostname}:{port}"})
        context.set_default_timeout(self.timeout_ms)
        context.set_default_navigation_timeout(self.timeout_ms)
        context.route("**/*", self._route)
        self._context, self._page = context, context.new_page()
        self._cdp = context.new_cdp_session(self._page)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and origin_of(url) == self.origin:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def open(self, url: str) -> None:
        """Open ``url`` (absolute, or a path on the origin) in a fresh context and tab.

        A browser that crashed or was closed is launched again here.

        Raises:
            AgentGymError: ``url`` is outside the origin, or the page did not load.
        """
        target = normalize_url(url, base=self.origin + "/")
        if origin_of(target) != self.origin:
            raise AgentGymError(f"open({url!r}): only {self.origin} may be browsed. Fix: pass a "
                                "path or a URL on that origin.")
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(2):
            try:
                self._new_tab()
                self._page.goto(target, wait_until="load")
                self._cdp.send("Page.resetNavigationHistory")  # no way back to about:blank
                return
            except PlaywrightError as exc:
                if attempt == 0 and not self._alive():
                    log.warning("Chromium is gone (%s); launching it again", exc)
                    self._discard_browser()
                    continue
                raise AgentGymError(f"open({url!r}) failed: {exc}") from exc

    def _alive(self) -> bool:
        try:
            return bool(self._browser is not None and self._browser.is_connected()
                        and self._browser.version)
        except Exception:  # a dead driver raises anything
            return False

    def _close_tab(self) -> None:
        if self._context is not None:
            try:
                self._context.close()
            except Exception as exc:  # already gone with its browser
                log.debug("closing the context: %s", exc)
        self._context = self._page = self._cdp = None

    def _discard_browser(self) -> None:
        self._close_tab()
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception as exc:  # crashed: nothing to close
                log.debug("closing the browser: %s", exc)
        self._browser = None

    def close(self) -> None:
        """Close the tab, the browser and Playwright, and remove the scratch profile."""
        self._discard_browser()
        if self._playwright is not None:
            self._playwright = None
            try:
                _release_playwright()
            except Exception as exc:
                log.debug("stopping playwright: %s", exc)
        self._dead_end.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def __del__(self) -> None:  # a forgotten backend should not leave a browser running
        if getattr(self, "_playwright", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    # -- acting and observing
    @property
    def url(self) -> str:
        """The current page's URL (``""`` before :meth:`open`)."""
        return self._page.url if self._page is not None else ""

    def act(self, action: str | Action) -> str:
        """Do one action; returns ``""`` or an error message for the agent (never raises)."""
        parsed = parse_action(action) if isinstance(action, str) else action
        if isinstance(parsed, str):
            return parsed
        if self._page is None:
            return "No page is open yet."
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            agid = str(parsed.args[0]) if parsed.name in ("click", "fill", "select_option",
                                                          "press") else None
            found = self._script(_ELEMENT_JS, {"agid": agid, "point": parsed.name == "click"})
            self._point = (agid, found.get("point"))
            plan = plan_action(parsed, _element_info(found["info"]), page_url=self._page.url,
                               origin=self.origin, known_ids=found["count"])
            if isinstance(plan, str):
                return plan
            return self._execute(plan, parsed)
        except PlaywrightTimeout:
            self._stop_loading()
            return (f"{parsed} did not finish within {self.timeout_ms} ms (the page is slow); "
                    "the page is as it is now.")
        except _PageError as exc:
            return str(exc)
        except PlaywrightError as exc:
            if not self._alive():
                return "The browser closed or crashed; the episode needs open() again."
            return f"{parsed} failed: {str(exc).splitlines()[0]}"

    def _script(self, source: str, arg: Any) -> Any:
        """Evaluate ``source(arg)`` in the page over CDP (again if a navigation got in between).

        Plain ``Runtime.evaluate`` rather than Playwright's locators: those inject Playwright's
        selector engine into every new document, which costs tens of milliseconds a step.
        """
        from playwright.sync_api import Error as PlaywrightError

        request = {"expression": f"({source})({json.dumps(arg)})", "returnByValue": True}
        try:
            reply = self._cdp.send("Runtime.evaluate", request)
        except PlaywrightError as exc:
            if "context" not in str(exc):
                raise
            self._page.wait_for_load_state("load")
            reply = self._cdp.send("Runtime.evaluate", request)
        if "exceptionDetails" in reply:
            raise AgentGymError(f"Page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def _stop_loading(self) -> None:
        """Cancel a navigation that ran over the timeout, so the page stays as it is."""
        try:
            self._cdp.send("Page.stopLoading")
        except Exception as exc:  # nothing to stop, or the browser is gone
            log.debug("Page.stopLoading: %s", exc)

    def _element(self, op: str, plan: Plan) -> dict[str, Any]:
        """Prepare element ``plan.agid`` for ``op`` (see :data:`_DO_JS`)."""
        done = self._script(_DO_JS, {"agid": plan.agid, "op": op, "index": plan.index,
                                     "empty": not plan.text})
        if done.get("error"):
            raise _PageError(f"Element '{plan.agid}' {done['error']}.")
        return done

    def _execute(self, plan: Plan, action: Action) -> str:
        if plan.kind in ("back", "forward"):
            return self._traverse(-1 if plan.kind == "back" else 1)
        if plan.kind == "fill":  # focus and select the old text, then type over it
            self._element("fill", plan)
            if plan.text:
                self._cdp.send("Input.insertText", {"text": plan.text})
        elif plan.kind == "select":
            self._element("select", plan)
        elif plan.kind in ("navigate", "submit"):
            return self._navigate(plan, action)
        elif action.name == "scroll":
            self._page.mouse.wheel(float(action.args[0]), float(action.args[1]))
        return ""

    def _press_or_click(self, plan: Plan, action: Action) -> None:
        """A real Enter key press or left click on the element, through CDP input events."""
        if action.name == "press":
            self._element("focus", plan)
            for kind in ("keyDown", "keyUp"):
                self._cdp.send("Input.dispatchKeyEvent", {**_ENTER, "type": kind})
            return
        agid, point = self._point
        if agid != plan.agid or point is None:  # not measured with the lookup: ask now
            point = self._element("point", plan)
        elif point.get("error"):
            raise _PageError(f"Element '{plan.agid}' {point['error']}.")
        # Press and release at the point: Chromium's click (a move first changes nothing on
        # pages without scripts or hover styles, and costs one more round trip).
        for kind, buttons in (("mousePressed", 1), ("mouseReleased", 0)):
            self._cdp.send("Input.dispatchMouseEvent", {
                "type": kind, "x": point["x"], "y": point["y"], "button": "left",
                "buttons": buttons, "clickCount": 1})

    def _navigate(self, plan: Plan, action: Action) -> str:
        """Follow a link, submit a form or go to a URL, and wait for the new page's load."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page, before = self._page, self._page.url
        try:
            if action.name == "goto":
                page.goto(plan.url, wait_until="load")
            else:
                with page.expect_navigation(wait_until="load"):
                    self._press_or_click(plan, action)
        except (PlaywrightTimeout, _PageError):
            raise
        except PlaywrightError as exc:
            if "net::ERR_" not in str(exc):
                raise
            log.debug("navigation failed: %s", exc)  # refused by the proxy or the route
            page.wait_for_load_state("load")
            if not page.url.startswith("chrome-error:"):
                return REDIRECT_REFUSED.format(origin=self.origin)
        if not page.url.startswith("chrome-error:"):
            return ""
        try:  # a redirect left the origin and was refused: back to where the agent was
            page.go_back(wait_until="load")
        except PlaywrightError:
            page.goto(before, wait_until="load")
        if page.url != before:
            page.goto(before, wait_until="load")
        return REDIRECT_REFUSED.format(origin=self.origin)

    def _traverse(self, step: int) -> str:
        history = self._cdp.send("Page.getNavigationHistory")
        target = history["currentIndex"] + step
        if not 0 <= target < len(history["entries"]):
            return ("There is no previous page to go back to." if step < 0 else
                    "There is no next page to go forward to.")
        if step < 0:
            self._page.go_back(wait_until="load")
        else:
            self._page.go_forward(wait_until="load")
        return ""

    def observe(self) -> PageObservation:
        """The current page as tree text, from Chromium's accessibility tree.

        Raises:
            EnvCrashedError: The browser is gone (:meth:`open` launches it again).
        """
        if self._page is None:
            return PageObservation(url="", title="", text="")
        from playwright.sync_api import Error as PlaywrightError

        try:
            document = self._cdp.send("DOM.getDocument", {"depth": -1})["root"]
            agids, numbered = _agids(document)
            if not numbered:
                self._script(_ELEMENT_JS, {"agid": None, "point": False})
                agids, _ = _agids(self._cdp.send("DOM.getDocument", {"depth": -1})["root"])
            nodes = self._cdp.send("Accessibility.getFullAXTree")["nodes"]
            shot = self._page.screenshot(type="png") if self.screenshot else None
        except PlaywrightError as exc:
            raise EnvCrashedError(f"The browser cannot be read ({exc}). Fix: open() again; a "
                                  "crashed browser is launched anew there.") from exc
        root = _ax_root(nodes, agids)
        return PageObservation(url=self._page.url, title=normalize_space(root.name),
                               text=render(prune(root)), screenshot=shot)
