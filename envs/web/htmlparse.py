"""HTML into elements the way a browser's parser builds them, for the contract's tag vocabulary.

Used by :mod:`agentgym.envs.web.tree` (tree text without a browser) and the text backend: a small
regex tokenizer (faster than :mod:`html.parser`, and like a browser it leaves ``&region=`` in an
attribute alone instead of reading ``&reg``) feeding a tree builder that applies the HTML parser's
implied end tags (``<li>``, ``<p>``, ``<option>``, headings, nested forms), leaves the head out and
numbers pages that lack ``data-agid`` in document order; and small helpers for what form controls
show and submit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from html import unescape
from html.entities import html5 as _ENTITIES

from agentgym.envs.web.actions import TEXT_INPUT_TYPES

__all__ = [
    "BLOCKING_TYPES", "CLOSES_P", "HEADINGS", "HTML_SPACE", "Element", "aria_hidden",
    "button_text", "field_value", "input_type", "normalize_space", "not_rendered",
    "option_label", "option_value", "parse_html", "plain_text", "prepare", "select_options",
    "selected_index", "TreeBuilder",
]

#: The characters HTML (and CSS white-space collapsing) treats as white space.
HTML_SPACE = " \t\n\r\f"


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace (``&nbsp;`` included) into one space and strip."""
    return " ".join(text.split())


_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link",
                   "meta", "param", "source", "track", "wbr"})
_HEAD_TAGS = frozenset({"title", "meta", "link", "style", "script", "base", "noscript"})
_NOT_RENDERED = frozenset({"head", "title", "meta", "link", "style", "script", "base",
                           "template"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
CLOSES_P = frozenset({"address", "article", "aside", "blockquote", "details", "dialog", "div",
                       "dl", "fieldset", "figcaption", "figure", "footer", "form", "header",
                       "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "search",
                       "section", "summary", "table", "ul", "li", "dd", "dt"}) | HEADINGS
_SCOPE = frozenset({"html", "table", "td", "th", "caption", "marquee", "object", "applet",
                    "template"})
_SPECIAL = CLOSES_P | _VOID | _SCOPE | frozenset({
    "body", "button", "center", "dir", "frameset", "iframe", "listing", "noscript", "plaintext",
    "script", "select", "style", "tbody", "textarea", "tfoot", "thead", "title", "tr", "xmp"})
_INPUT_TYPES = frozenset({
    "hidden", "text", "search", "tel", "url", "email", "password", "date", "month", "week",
    "time", "datetime-local", "number", "range", "color", "checkbox", "radio", "file", "submit",
    "image", "reset", "button"})
BLOCKING_TYPES = TEXT_INPUT_TYPES | {"date", "month", "week", "time", "datetime-local", "number"}
_BUTTON_SCOPE = _SCOPE | {"button"}
_LI_SCOPE = _SCOPE | {"ul", "ol", "button", "select"} | _SPECIAL - {"address", "div", "p", "li"}
_DD_SCOPE = _SPECIAL - {"address", "div", "p", "dd", "dt"}
_LIST_SCOPE = _SCOPE | {"ul", "ol"}
_NOTHING: frozenset[str] = frozenset()


class Element:
    """A parsed element: tag, attributes (first one wins), parent, children, ``data-agid``."""

    __slots__ = ("tag", "attrs", "parent", "children", "agid", "index")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None,
                 index: int) -> None:
        self.tag, self.attrs, self.parent, self.index = tag, attrs, parent, index
        self.children: list[Element | str] = []
        self.agid: str | None = None


def input_type(el: Element) -> str:
    """An ``input``'s type as the browser understands it (``text`` for missing or unknown)."""
    kind = el.attrs.get("type", "text").strip().lower()
    return kind if kind in _INPUT_TYPES else "text"


class TreeBuilder:
    """Builds the body's element tree with the HTML parser's implied end tags for our tags.

    Fed by the tokenizer of :func:`parse_html`, or directly by whoever wrote the page and knows
    the tag, text and end-tag events its HTML makes (:func:`prepare`).
    """

    def __init__(self) -> None:
        self.body = Element("body", {}, None, -1)
        self.stack: list[Element] = [self.body]
        self.elements: list[Element] = []
        self.title: str | None = None
        self._title_parts: list[str] | None = None
        self._in_body = False
        self._head_raw = False  # inside a <script>/<style> of the head
        self._selects = 0  # open <select>s on the stack

    def finish(self) -> tuple[Element, list[Element], str]:
        """``(body, elements inside body in document order, title)``, every ``agid`` set."""
        elements = self.elements
        if any("data-agid" in el.attrs for el in elements):
            for el in elements:
                el.agid = el.attrs.get("data-agid")
        else:
            for number, el in enumerate(elements, 1):
                el.agid = str(number)
        if self.title is None and self._title_parts is not None:  # an unclosed <title>
            self.title = normalize_space("".join(self._title_parts))
        return self.body, elements, self.title or ""

    # -- helpers
    def _pop_until(self, tags: frozenset[str] | set[str], boundary: frozenset[str]) -> bool:
        for i in range(len(self.stack) - 1, 0, -1):
            tag = self.stack[i].tag
            if tag in tags:
                if self._selects:
                    self._selects -= sum(1 for el in self.stack[i:] if el.tag == "select")
                del self.stack[i:]
                return True
            if tag in boundary:
                return False
        return False

    def _insert(self, tag: str, attrs: dict[str, str]) -> Element:
        parent = self.stack[-1]
        el = Element(tag, attrs, parent, len(self.elements))
        parent.children.append(el)
        self.elements.append(el)
        if tag not in _VOID:
            self.stack.append(el)
            self._selects += tag == "select"
        return el

    def _in_select(self) -> bool:
        return self._selects > 0

    # -- parser callbacks
    def handle_starttag(self, tag: str, values: dict[str, str]) -> None:
        if not self._in_body:
            if tag in ("html", "head"):
                return
            if tag in _HEAD_TAGS:
                self._head_raw = tag in ("script", "style")
                if tag == "title" and self.title is None:
                    self._title_parts = []
                return
            self._in_body = True
            if tag == "body":
                self.body.attrs = values
                return
        if tag in ("html", "head", "body"):
            return
        if self._in_select():
            self._start_in_select(tag, values)
        else:
            self._start(tag, values)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        top = self.stack[-1].tag
        if tag == "li":
            self._pop_until({"li"}, _LI_SCOPE)
        elif tag in ("dd", "dt"):
            self._pop_until({"dd", "dt"}, _DD_SCOPE)
        if tag in CLOSES_P:
            self._pop_until({"p"}, _BUTTON_SCOPE)
        if tag in HEADINGS and self.stack[-1].tag in HEADINGS:
            self.stack.pop()
        elif tag == "form" and any(el.tag == "form" for el in self.stack):
            return
        elif tag in ("a", "button") and any(el.tag == tag for el in self.stack):
            self._pop_until({tag}, _NOTHING)
        elif tag == "option" and top == "option":
            self.stack.pop()
        self._insert(tag, attrs)
        if tag == "title" and self.title is None:
            self._title_parts = []

    def _start_in_select(self, tag: str, attrs: dict[str, str]) -> None:
        if tag in ("option", "optgroup"):
            if self.stack[-1].tag == "option":
                self.stack.pop()
            if tag == "optgroup" and self.stack[-1].tag == "optgroup":
                self.stack.pop()
            self._insert(tag, attrs)
        elif tag in ("select", "input", "textarea", "keygen"):
            self._pop_until({"select"}, _NOTHING)
            if tag != "select":
                self._start(tag, attrs)
        elif tag in ("script", "template"):
            self._insert(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._title_parts is not None and tag == "title":
            self.title = normalize_space("".join(self._title_parts))
            self._title_parts = None
        if not self._in_body:
            self._head_raw = False
            return
        if tag in ("html", "head", "body"):
            return
        if self._in_select() and tag not in ("option", "optgroup", "select"):
            if tag in ("script", "template", "title"):
                self._pop_until({tag}, frozenset({"select"}))
            return
        if tag == "br":
            self._start("br", {})
        elif tag == "p":
            if not self._pop_until({"p"}, _BUTTON_SCOPE):
                self._insert("p", {})
                self.stack.pop()
        elif tag in HEADINGS:
            self._pop_until(HEADINGS, _SCOPE)
        elif tag == "li":
            self._pop_until({"li"}, _LIST_SCOPE)
        elif tag in _SPECIAL:
            self._pop_until({tag}, _SCOPE)
        else:
            self._pop_until({tag}, _SPECIAL)

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(data)
        if not self._in_body:
            if self._head_raw or self._title_parts is not None or not data.strip():
                return
            self._in_body = True
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)


_TOKEN = re.compile(r"""
    <!--.*?(?:-->|\Z) | <[!?][^>]*>?                                     # comment, doctype, PI
  | </(?P<end>[A-Za-z][^\t\n\f\r />]*)[^>]*>?                                   # end tag
  | <(?P<start>[A-Za-z][^\t\n\f\r />]*)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>  # start tag
  | (?P<text>[^<]+|<)                                                              # text
""", re.S | re.X)
_ATTR = re.compile(r"""([^\t\n\f\r />][^\t\n\f\r /=>]*)(?:[\t\n\f\r ]*=[\t\n\f\r ]*"""
                   r"""(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]*)))?""")
_RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes"})
_RCDATA = frozenset({"title", "textarea"})
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


def _attribute_charref(match: re.Match[str]) -> str:
    """A character reference in an attribute value, decoded the way a browser does.

    A legacy named reference without ``;`` (``&reg``, ``&sect``, ``&not`` ...) followed by a
    letter, digit or ``=`` stays as written, so ``?a=1&region=2`` keeps its ``&region``.
    """
    ref = match.group(1)
    if ref[0] == "#" or ref.endswith(";") and ref in _ENTITIES:
        return unescape(match.group(0))
    for end in range(len(ref.rstrip(";")), 0, -1):
        if ref[:end] in _ENTITIES:  # the longest legacy name without ";"
            after = ref[end:end + 1] or match.string[match.end():match.end() + 1]
            if after and (after.isalnum() or after == "="):
                return match.group(0)
            return _ENTITIES[ref[:end]] + ref[end:]
    return match.group(0)


def _attributes(source: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, double, single, bare in _ATTR.findall(source):
        value = double or single or bare
        if "&" in value:
            value = _CHARREF.sub(_attribute_charref, value)
        values.setdefault(name.lower(), value)
    return values


def _tokenize(html: str, builder: TreeBuilder) -> None:
    """Feed ``html``'s tags and text to ``builder``, in order."""
    html = html.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    pos, size = 0, len(html)
    while pos < size:
        match = _TOKEN.match(html, pos)
        pos, kind = match.end(), match.lastgroup
        if kind == "text":
            text = match.group("text")
            builder.handle_data(unescape(text) if "&" in text else text)
        elif kind == "attrs":  # a start tag (its last group is the attributes)
            tag = match.group("start").lower()
            builder.handle_starttag(tag, _attributes(match.group("attrs")))
            if tag in _RAW_TEXT or tag in _RCDATA:  # text up to the matching end tag
                close = re.compile(rf"</{tag}[\t\n\f\r />]", re.I).search(html, pos)
                stop = close.start() if close else size
                if stop > pos:
                    text = html[pos:stop]
                    builder.handle_data(unescape(text) if tag in _RCDATA else text)
                pos = stop
        elif kind == "end":
            builder.handle_endtag(match.group("end").lower())


def parse_html(html: str) -> tuple[Element, list[Element], str]:
    """Parse HTML into ``(body, elements inside body in document order, title)``.

    Elements get their ``data-agid``; when no element inside body has one, all of them are
    numbered 1, 2, 3, ... in document order (what the browser backend's script does). A page
    announced with :func:`prepare` is built from its writer's events instead of tokenized.
    """
    with _PREPARED_LOCK:
        build = _PREPARED.pop(html, None)
    if build is not None:
        return build()
    builder = TreeBuilder()
    _tokenize(html, builder)
    return builder.finish()


#: Pages announced by their writer, awaiting their parse (the newest :data:`_MAX_PREPARED`).
_PREPARED: dict[str, Callable[[], tuple[Element, list[Element], str]]] = {}
_PREPARED_LOCK = threading.Lock()
_MAX_PREPARED = 64


def prepare(html: str, build: Callable[[], tuple[Element, list[Element], str]]) -> None:
    """Announce that ``parse_html(html)`` may call ``build()`` instead of tokenizing ``html``.

    For a page writer that keeps its element tree: ``build`` feeds a :class:`TreeBuilder` the
    events the tokenizer would read from ``html`` (start tags with their decoded attributes,
    decoded text, end tags) and returns its :meth:`TreeBuilder.finish`, so the result is the
    same, without the regular expressions. Used once; only the newest 64 pages are kept.
    """
    with _PREPARED_LOCK:
        _PREPARED[html] = build
        while len(_PREPARED) > _MAX_PREPARED:
            del _PREPARED[next(iter(_PREPARED))]


# --------------------------------------------------------------------------- element helpers


def not_rendered(el: Element) -> bool:
    """The element (and so its subtree) is not rendered: ``hidden``, head matter, hidden input."""
    return (el.tag in _NOT_RENDERED or "hidden" in el.attrs
            or (el.tag == "input" and input_type(el) == "hidden"))


def aria_hidden(el: Element) -> bool:
    """``aria-hidden="true"``: rendered, but left out of the accessibility tree."""
    return el.attrs.get("aria-hidden", "").strip().lower() == "true"


def select_options(select: Element) -> list[Element]:
    """A select's options in order (those inside ``optgroup`` included)."""
    found: list[Element] = []
    for child in select.children:
        if isinstance(child, Element):
            if child.tag == "option":
                found.append(child)
            elif child.tag == "optgroup":
                found.extend(c for c in child.children if isinstance(c, Element) and
                             c.tag == "option")
    return found


def option_label(option: Element) -> str:
    """What an option shows: its ``label`` attribute, else its whitespace-collapsed text."""
    label = option.attrs.get("label", "")
    return label if label else normalize_space(plain_text(option))


_ASCII_SPACES = str.maketrans("\t\n\r\f", "    ")


def option_value(option: Element) -> str:
    """An option's submitted value: its ``value``, else its text with ASCII whitespace collapsed."""
    value = option.attrs.get("value")
    if value is not None:
        return value
    return _collapse_ascii(plain_text(option))


def _collapse_ascii(text: str) -> str:
    """Collapse ASCII white space only (a browser keeps ``&nbsp;`` in option values)."""
    return " ".join(part for part in text.translate(_ASCII_SPACES).split(" ") if part)


def plain_text(el: Element) -> str:
    """All the text inside ``el``, as written."""
    return "".join(c if isinstance(c, str) else plain_text(c) for c in el.children)


def selected_index(options: list[Element]) -> int:
    """The option a single select starts with: the last ``selected``, else the first enabled."""
    chosen = [i for i, o in enumerate(options) if "selected" in o.attrs]
    if chosen:
        return chosen[-1]
    return next((i for i, o in enumerate(options) if "disabled" not in o.attrs), -1)


def field_value(el: Element) -> str:
    """A text input's initial value, sanitised as the browser does (newlines removed)."""
    value = el.attrs.get("value", "").replace("\r", "").replace("\n", "")
    return value.strip(HTML_SPACE) if input_type(el) in ("email", "url") else value


def button_text(el: Element) -> str:
    """The text an ``input`` button shows (its value, or the browser's default)."""
    if "value" in el.attrs:
        return el.attrs["value"]
    return {"submit": "Submit", "reset": "Reset"}.get(input_type(el), "")
