"""Browsing without a browser: pages fetched from the app and turned into tree text in Python.

:class:`TextBackend` keeps what a browser tab keeps for these plain-HTML pages (the current page,
what the agent typed and selected, the session history) and does what a browser does on a click:
follows links, submits forms (GET query string or POST urlencoded body, with the submit button's
name and value), follows redirects, and restores typed values when going back, as Chromium does.
Its observations are identical to :class:`~agentgym.envs.web.browser_backend.BrowserBackend`'s on
pages that keep the contract of :mod:`agentgym.envs.web`.
"""

from __future__ import annotations

import functools
import http.client
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
from agentgym.envs.web.htmlparse import (
    Element,
    button_text,
    field_value,
    input_type,
    not_rendered,
    option_label,
    option_value,
    select_options,
    selected_index,
)
from agentgym.envs.web.tree import PageObservation, ParsedPage, parse_page, render
from agentgym.errors import AgentGymError

__all__ = ["Fetch", "PageFacts", "SavedTab", "TextBackend", "form_urlencode", "http_fetch",
           "page_facts"]

#: ``fetch(method, path_with_query, body) -> (status, headers, body_bytes)``; headers may be a
#: mapping or a list of ``(name, value)`` pairs.
Fetch = Callable[[str, str, bytes], tuple[int, Any, bytes]]

_MAX_HISTORY = 50  # Chromium keeps 50 session-history entries per tab
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTROL_TAGS = frozenset({"input", "select", "button", "textarea"})
_DISABLE_TAGS = frozenset({"input", "select", "button", "textarea", "option", "optgroup",
                           "fieldset"})
_ENTER_BLOCKING = frozenset({"text", "search", "email", "url", "tel", "password", "date",
                             "month", "week", "time", "datetime-local", "number"})
_URLENCODE_SAFE = frozenset(b"*-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def form_urlencode(pairs: list[tuple[str, str]]) -> str:
    """``application/x-www-form-urlencoded`` exactly as browsers write it (UTF-8, space as +)."""

    def encode(text: str) -> str:
        out = []
        for byte in text.encode("utf-8", "surrogatepass"):
            if byte in _URLENCODE_SAFE:
                out.append(chr(byte))
            else:
                out.append("+" if byte == 0x20 else f"%{byte:02X}")
        return "".join(out)

    return "&".join(f"{encode(name)}={encode(value)}" for name, value in pairs)


def http_fetch(origin: str, *, timeout_s: float = 10.0) -> Fetch:
    """A ``fetch`` that asks the HTTP server at ``origin`` (one connection per request).

    Redirects are returned, not followed: :class:`TextBackend` follows them itself.
    """
    parts = urlsplit(origin)
    connection = (http.client.HTTPSConnection if parts.scheme == "https" else
                  http.client.HTTPConnection)

    def fetch(method: str, target: str, body: bytes) -> tuple[int, Any, bytes]:
        conn = connection(parts.hostname or "", parts.port, timeout=timeout_s)
        try:
            headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
            conn.request(method, target, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    return fetch


# --------------------------------------------------------------------------- page facts


@dataclass(frozen=True)
class Control:
    """A form control as it is submitted: id, tag, type, name, initial value and state."""

    key: str
    tag: str
    input_type: str
    name: str
    value: str
    disabled: bool
    checked: bool = False
    selected: int = -1
    options: tuple[tuple[str, str, bool], ...] = ()


@dataclass(frozen=True)
class FormSpec:
    """A form: where it goes (``info``), its controls in tree order, its default button's id."""

    info: FormInfo
    controls: tuple[Control, ...]
    default_button: str | None


@dataclass(frozen=True)
class PageFacts:
    """What the text backend needs to act on a page (computed once per page content).

    Attributes:
        page: The parsed page.
        infos: Per ``data-agid``, the facts the actions are checked against.
        forms: The page's forms in document order.
        submits: Per ``data-agid``: ``(form index, submitter id)`` for what a click submits,
            and for text fields what Enter submits (the submitter is the default button).
    """

    page: ParsedPage
    infos: Mapping[str, ElementInfo]
    forms: tuple[FormSpec, ...]
    submits: Mapping[str, tuple[int, str | None]]


def _key(el: Element) -> str:
    return el.agid if el.agid is not None else f"#{el.index}"


def _control(el: Element) -> Control:
    kind = input_type(el) if el.tag == "input" else ""
    disabled = "disabled" in el.attrs
    if el.tag == "select":
        options = select_options(el)
        return Control(_key(el), "select", "", el.attrs.get("name", ""), "", disabled,
                       selected=selected_index(options),
                       options=tuple((option_label(o), option_value(o),
                                      "disabled" in o.attrs) for o in options))
    if el.tag == "button":
        value = el.attrs.get("value", "")
    elif kind in ("submit", "reset", "button"):
        value = button_text(el)
    elif kind in ("checkbox", "radio"):
        value = el.attrs.get("value", "on")
    else:
        value = field_value(el)
    return Control(_key(el), el.tag, kind, el.attrs.get("name", ""), value, disabled,
                   checked="checked" in el.attrs)


def _is_submit(el: Element) -> bool:
    if el.tag == "button":
        return el.attrs.get("type", "submit").strip().lower() not in ("button", "reset")
    return el.tag == "input" and input_type(el) in ("submit", "image")


def _form_owners(page: ParsedPage) -> dict[int, Element | None]:
    """Each element's form owner (``form=`` attribute, else the nearest ancestor form)."""
    ids: dict[str, Element] = {}
    for el in page.elements:
        if "id" in el.attrs:
            ids.setdefault(el.attrs["id"], el)
    owners: dict[int, Element | None] = {}
    for el in page.elements:
        parent = el.parent
        inherited = None if parent is None or parent.index < 0 else (
            parent if parent.tag == "form" else owners.get(parent.index))
        if el.tag in _CONTROL_TAGS and "form" in el.attrs:
            target = ids.get(el.attrs["form"])
            inherited = target if target is not None and target.tag == "form" else None
        owners[el.index] = inherited
    return owners


def _forms(page: ParsedPage, owners: dict[int, Element | None]) -> dict[int, FormSpec]:
    members: dict[int, list[Element]] = {}
    for el in page.elements:
        owner = owners[el.index]
        if el.tag in _CONTROL_TAGS and owner is not None:
            members.setdefault(owner.index, []).append(el)
    specs = {}
    for form in (el for el in page.elements if el.tag == "form"):
        controls = members.get(form.index, [])
        default = next((c for c in controls if _is_submit(c)), None)
        blocking = sum(1 for c in controls if c.tag == "input" and input_type(c) in
                       _ENTER_BLOCKING)
        method = "post" if form.attrs.get("method", "").strip().lower() == "post" else "get"
        info = FormInfo(form.attrs.get("action"), method, default is not None or blocking == 1)
        specs[form.index] = FormSpec(info, tuple(_control(c) for c in controls),
                                     None if default is None else _key(default))
    return specs


@functools.lru_cache(maxsize=256)
def page_facts(html: str) -> PageFacts:
    """Parse ``html`` (cached by content) and work out what each element does."""
    page = parse_page(html)
    owners = _form_owners(page)
    specs = _forms(page, owners)
    order = {index: n for n, index in enumerate(specs)}
    hidden: dict[int, bool] = {-1: False}
    link: dict[int, str | None] = {-1: None}
    button: dict[int, Element | None] = {-1: None}
    select: dict[int, Element | None] = {-1: None}
    infos: dict[str, ElementInfo] = {}
    submits: dict[str, tuple[int, str | None]] = {}
    for el in page.elements:
        up = el.parent.index if el.parent is not None else -1
        hidden[el.index] = hidden[up] or not_rendered(el)
        link[el.index] = el.attrs["href"] if el.tag == "a" and "href" in el.attrs else link[up]
        button[el.index] = el if el.tag in ("button", "input") else button[up]
        select[el.index] = el if el.tag == "select" else select[up]
        if el.agid is None or el.agid in infos:
            continue
        clicked = button[el.index]
        owner = owners.get(clicked.index) if clicked is not None else None
        submit_form = owner if clicked is not None and _is_submit(clicked) else None
        own_form = owners.get(el.index) if el.tag in _CONTROL_TAGS else None
        if submit_form is not None:
            submits[el.agid] = (order[submit_form.index], _key(clicked))
        elif own_form is not None and el.tag == "input":
            spec = specs[own_form.index]
            submits[el.agid] = (order[own_form.index], spec.default_button)
        chooser = select[el.index] if el.tag == "option" else None
        infos[el.agid] = ElementInfo(
            agid=el.agid, tag=el.tag, input_type=input_type(el) if el.tag == "input" else "",
            hidden=hidden[el.index], disabled=el.tag in _DISABLE_TAGS and "disabled" in el.attrs,
            readonly=el.tag == "input" and "readonly" in el.attrs, href=link[el.index],
            submits=None if submit_form is None else specs[submit_form.index].info,
            form=None if own_form is None else specs[own_form.index].info,
            options=_control(el).options if el.tag == "select" else (),
            select=None if chooser is None else chooser.agid)
    return PageFacts(page, infos, tuple(specs.values()), submits)


# --------------------------------------------------------------------------- the backend


@dataclass(frozen=True)
class SavedTab:
    """A snapshot of a text backend's tab (:meth:`TextBackend.save`): immutable and picklable.

    Attributes:
        entries: Per history entry: URL, document number, HTML, typed values, chosen options.
        index: The current entry.
    """

    entries: tuple[tuple[str, int, str, tuple[tuple[str, str], ...],
                         tuple[tuple[str, int], ...]], ...]
    index: int


@dataclass
class _Entry:
    """One session-history entry: its URL, its document, and what was typed there."""

    url: str
    document: int
    html: str
    values: dict[str, str] = field(default_factory=dict)
    selected: dict[str, int] = field(default_factory=dict)


class TextBackend:
    """A browser tab in Python for pages that keep the web environment's contract.

    Args:
        fetch: ``fetch(method, path_with_query, body) -> (status, headers, body)``: the shop's
            ``app.handle``, or a function doing an HTTP request.
        origin: The only origin that may be visited (``http://127.0.0.1:8000``); ``goto``
            elsewhere and links or redirects leaving it are refused.
        max_redirects: Redirects followed per navigation.

    Example:
        >>> backend = TextBackend(app.handle, origin="http://shop.local")  # doctest: +SKIP
        >>> backend.open("/")  # doctest: +SKIP
        >>> backend.act("fill('5', 'red shoes')")  # doctest: +SKIP
        ''
    """

    def __init__(self, fetch: Fetch, *, origin: str, max_redirects: int = 10) -> None:
        if not callable(fetch):
            raise AgentGymError(f"TextBackend needs fetch(method, target, body), got {fetch!r}.")
        if urlsplit(origin).scheme not in ("http", "https") or not urlsplit(origin).hostname:
            raise AgentGymError(f"origin must look like 'http://127.0.0.1:8000', got {origin!r}.")
        self.origin = origin_of(origin)
        self._fetch = fetch
        self._max_redirects = max_redirects
        self._history: list[_Entry] = []
        self._index = -1
        self._next_document = 0

    # -- public API
    @property
    def url(self) -> str:
        """The current page's URL (``""`` before :meth:`open`)."""
        return self._history[self._index].url if self._history else ""

    @property
    def facts(self) -> PageFacts:
        """The current page's parsed facts (tree lines, element table, forms)."""
        return page_facts(self._entry().html)

    def open(self, url: str) -> None:
        """Start a fresh tab on ``url`` (absolute, or a path on the origin).

        Raises:
            AgentGymError: ``url`` is outside the origin, or the page could not be fetched.
        """
        target = normalize_url(url, base=self.origin + "/")
        if origin_of(target) != self.origin:
            raise AgentGymError(f"open({url!r}): only {self.origin} may be browsed. Fix: pass a "
                                "path or a URL on that origin.")
        self._history, self._index = [], -1
        loaded = self._load("GET", target, b"")
        if isinstance(loaded, str):
            raise AgentGymError(f"open({url!r}) failed: {loaded}")
        self._push(*loaded)

    def act(self, action: str | Action) -> str:
        """Do one action; returns ``""`` or an error message for the agent (never raises)."""
        parsed = parse_action(action) if isinstance(action, str) else action
        if isinstance(parsed, str):
            return parsed
        if not self._history:
            return "No page is open yet."
        facts = self.facts
        info = None
        if parsed.name in ("click", "fill", "select_option", "press"):
            info = facts.infos.get(str(parsed.args[0]))
        plan = plan_action(parsed, info, page_url=self.url, origin=self.origin,
                           known_ids=len(facts.infos))
        return plan if isinstance(plan, str) else self._execute(plan, facts)

    def observe(self) -> PageObservation:
        """The current page as tree text (with what was typed and selected)."""
        if not self._history:
            return PageObservation(url="", title="", text="")
        entry = self._entry()
        facts = page_facts(entry.html)
        values = dict(entry.values)
        for agid, index in entry.selected.items():
            info = facts.infos.get(agid)
            if info is not None and 0 <= index < len(info.options):
                values[agid] = " ".join(info.options[index][0].split())
        text = render(facts.page.lines, values)
        return PageObservation(url=entry.url, title=facts.page.title, text=text)

    def close(self) -> None:
        """Forget the tab."""
        self._history, self._index = [], -1

    def save(self) -> SavedTab:
        """A snapshot of the tab (history, position, what was typed), cheap enough every step."""
        entries = tuple((e.url, e.document, e.html, tuple(e.values.items()),
                         tuple(e.selected.items())) for e in self._history)
        return SavedTab(entries, self._index)

    def load(self, tab: SavedTab) -> None:
        """Put the tab back as :meth:`save` found it (nothing is fetched)."""
        shared: dict[int, tuple[dict[str, str], dict[str, int]]] = {}
        history = []
        for url, document, html, values, selected in tab.entries:
            if document not in shared:  # entries of one document share what was typed
                shared[document] = (dict(values), dict(selected))
            history.append(_Entry(url, document, html, *shared[document]))
        self._history, self._index = history, tab.index
        self._next_document = max([self._next_document] + [d + 1 for d in shared])

    # -- actions
    def _entry(self) -> _Entry:
        return self._history[self._index]

    def _execute(self, plan: Plan, facts: PageFacts) -> str:
        entry = self._entry()
        if plan.kind == "fill":
            entry.values[plan.agid] = plan.text
        elif plan.kind == "select":
            entry.selected[plan.agid] = plan.index
        elif plan.kind == "navigate":
            return self._navigate("GET", plan.url, b"")
        elif plan.kind == "submit":
            form_index, submitter = facts.submits[plan.agid]
            method, url, body = self._submission(facts.forms[form_index], submitter)
            return self._navigate(method, url, body)
        elif plan.kind in ("back", "forward"):
            return self._traverse(-1 if plan.kind == "back" else 1)
        return ""

    def _submission(self, form: FormSpec, submitter: str | None) -> tuple[str, str, bytes]:
        entry = self._entry()
        pairs: list[tuple[str, str]] = []
        for control in form.controls:
            if control.disabled or not control.name:
                continue
            if control.tag == "select":
                index = entry.selected.get(control.key, control.selected)
                if 0 <= index < len(control.options):
                    pairs.append((control.name, control.options[index][1]))
            elif control.tag == "button" or control.input_type in ("submit", "image", "reset",
                                                                   "button"):
                if control.key == submitter and control.input_type not in ("reset", "button"):
                    pairs.append((control.name, control.value))
            elif control.input_type in ("checkbox", "radio"):
                if control.checked:
                    pairs.append((control.name, control.value))
            elif control.input_type != "file":
                pairs.append((control.name, entry.values.get(control.key, control.value)))
        action = normalize_url(form.info.action or entry.url, base=entry.url)
        encoded = form_urlencode(pairs)
        if form.info.method == "post":
            return "POST", action, encoded.encode("ascii")
        parts = urlsplit(action)
        return "GET", urlunsplit(parts._replace(query=encoded)) + (
            "?" if not encoded else ""), b""

    def _navigate(self, method: str, url: str, body: bytes) -> str:
        current = self._entry()
        if method == "GET" and "#" in url and url.split("#")[0] == current.url.split("#")[0]:
            if url != current.url:  # a same-document jump to a fragment: nothing is fetched
                self._push(url, current.html, same_document=True)
            return ""
        loaded = self._load(method, url, body)
        if isinstance(loaded, str):
            return loaded
        final, html = loaded
        if final is None:  # 204: the page stays
            return ""
        if method == "GET" and url == current.url:  # the same URL again: a reload
            self._history[self._index] = _Entry(final, self._new_document(), html)
        else:
            self._push(final, html)
        return ""

    def _push(self, url: str | None, html: str, *, same_document: bool = False) -> None:
        previous = self._history[self._index] if self._history else None
        del self._history[self._index + 1:]
        if same_document and previous is not None:
            entry = _Entry(url or previous.url, previous.document, html, previous.values,
                           previous.selected)
        else:
            entry = _Entry(url or "", self._new_document(), html)
        self._history.append(entry)
        if len(self._history) > _MAX_HISTORY:
            del self._history[0]
        self._index = len(self._history) - 1

    def _new_document(self) -> int:
        self._next_document += 1
        return self._next_document - 1

    def _traverse(self, step: int) -> str:
        target = self._index + step
        if not 0 <= target < len(self._history):
            return ("There is no previous page to go back to." if step < 0 else
                    "There is no next page to go forward to.")
        entry, current = self._history[target], self._entry()
        if entry.document != current.document:  # a browser fetches the page again
            loaded = self._load("GET", entry.url, b"")
            if isinstance(loaded, str):
                return loaded
            if loaded[0] is not None:
                entry.url, entry.html = loaded
        self._index = target
        return ""

    # -- HTTP
    def _load(self, method: str, url: str, body: bytes) -> tuple[str | None, str] | str:
        """Fetch ``url`` following redirects: ``(final URL, html)``, ``(None, "")`` for a 204,
        or an error message."""
        for _ in range(self._max_redirects + 1):
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if "?" in url.split("#")[0] else "")
            try:
                status, headers, data = self._fetch(method, target, body)
            except Exception as exc:  # the app or the network failed: the agent sees an error
                return f"Loading {url} failed: {type(exc).__name__}: {exc}"
            location = _header(headers, "location")
            if status in _REDIRECTS and location:
                next_url = normalize_url(location, base=url)
                if origin_of(next_url) != self.origin:
                    return REDIRECT_REFUSED.format(origin=self.origin)
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body = "GET", b""
                if "#" in url and "#" not in next_url:
                    next_url += "#" + url.split("#", 1)[1]
                url = next_url
                continue
            if status == 204:
                return None, ""
            return url, data.decode(_charset(headers), errors="replace")
        return f"Loading {url} failed: more than {self._max_redirects} redirects."


def _header(headers: Any, name: str) -> str | None:
    """A header's value from a mapping, a message object or a list of pairs (any case)."""
    items = headers.items() if hasattr(headers, "items") else (headers or ())
    for key, value in items:
        if str(key).lower() == name:
            return str(value)
    return None


def _charset(headers: Any) -> str:
    content_type = _header(headers, "content-type") or ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
            try:
                "".encode(charset)
            except LookupError:
                break
            return charset
    return "utf-8"
