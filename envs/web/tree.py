"""A page as accessibility-tree text: the rules both backends share, and HTML to tree in Python.

The observation is one line per kept node of Chromium's accessibility tree, indented by one tab
per kept ancestor::

    RootWebArea 'Search results'
    	[2] banner
    		[4] link 'Home'
    	[8] form
    		StaticText 'Query'
    		[10] textbox 'Query' value='red shoes'
    		[12] button 'Search'

The rules (applied by :func:`prune` to a raw tree, from Chromium or from :func:`parse_page`):

1. Ignored nodes and nodes of the roles in :data:`LIFTED_ROLES` (generic, LabelText, strong,
   LineBreak, ...) are dropped and their children lifted into their parent.
2. Text fields show no children; a combobox shows only its options.
3. ``StaticText`` is whitespace-collapsed; it is dropped when empty, when it equals the name of its
   nearest kept ancestor (other than the root), or when it is part of that name and the
   ancestor's role takes its name from its content (a link's or button's own text).
4. A node with no name and no value whose children were all dropped is dropped too, unless it is
   a form field (textbox, searchbox, combobox, option).
5. Names are whitespace-collapsed (``&nbsp;`` counts as a space); ``[id]`` is the element's
   ``data-agid``; a text field's or combobox's value follows as ``value='...'``.

:func:`parse_page` builds that raw tree from HTML without a browser, mimicking Chromium 156 for the
contract's tag vocabulary (see :mod:`agentgym.envs.web`): roles (``header`` is ``banner`` at the
top and ``sectionheader`` inside ``main``/``section``/``nav``/..., ``section`` is ``region`` only
when named), accessible names (``aria-labelledby``, ``aria-label``, ``<label for>`` and wrapping
labels, ``title``, ``placeholder``, and names from content joined the way Chromium joins them),
select values and options. The HTML itself is parsed by :mod:`agentgym.envs.web.htmlparse`
(implied end tags, ``data-agid`` numbering for pages without it). It also returns the element
table; parses are cached by page content.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from agentgym.envs.web.htmlparse import (
    BLOCKING_TYPES,
    CLOSES_P,
    HEADINGS,
    HTML_SPACE,
    Element,
    aria_hidden,
    button_text,
    field_value,
    input_type,
    normalize_space,
    not_rendered,
    option_label,
    parse_html,
    select_options,
    selected_index,
)

__all__ = [
    "AXNode",
    "FIELD_ROLES",
    "LIFTED_ROLES",
    "Line",
    "PageObservation",
    "ParsedPage",
    "normalize_space",
    "parse_page",
    "prune",
    "render",
]

#: Roles whose nodes are dropped with their children lifted into the parent.
LIFTED_ROLES = frozenset({
    "", "none", "presentation", "generic", "Ignored", "InlineTextBox", "LineBreak",
    "ListMarker", "LabelText", "MenuListPopup", "strong", "emphasis", "group",
})
#: Roles that show a value and never show children (a combobox shows its options).
FIELD_ROLES = frozenset({"textbox", "searchbox", "combobox", "listbox"})
_KEEP_EMPTY = FIELD_ROLES | {"option"}
#: Roles whose name is computed from their content (ARIA), so their text repeats it.
NAME_FROM_CONTENT_ROLES = frozenset({
    "button", "cell", "checkbox", "columnheader", "gridcell", "heading", "link", "menuitem",
    "menuitemcheckbox", "menuitemradio", "option", "radio", "row", "rowheader", "switch", "tab",
    "tooltip", "treeitem"})


@dataclass
class AXNode:
    """One node of a raw accessibility tree (before :func:`prune`).

    Attributes:
        role: Chromium's role name (``link``, ``StaticText``, ``generic``, ...).
        name: The accessible name (the text, for ``StaticText``).
        value: A field's value, if any.
        agid: The ``data-agid`` of the node's element, if any.
        children: Child nodes in order.
        ignored: Chromium marks the node ignored (its children may still count).
    """

    role: str
    name: str = ""
    value: str | None = None
    agid: str | None = None
    children: list[AXNode] = field(default_factory=list)
    ignored: bool = False


class Line(NamedTuple):
    """One line of the observation: depth, role, name, value (or None) and id (or None)."""

    depth: int
    role: str
    name: str
    value: str | None
    agid: str | None


def _ax_options(node: AXNode) -> Iterable[AXNode]:
    for child in node.children:
        if child.role == "option" and not child.ignored:
            yield child
        else:
            yield from _ax_options(child)


def _collect(node: AXNode, depth: int, context: str, context_from_content: bool,
             out: list[Line]) -> None:
    """Append ``node``'s kept lines.

    ``context`` is the nearest kept ancestor's name, ``context_from_content`` whether that
    ancestor's role takes its name from its content (a link's text is in its name).
    """
    if node.ignored or node.role in LIFTED_ROLES:
        for child in node.children:
            _collect(child, depth, context, context_from_content, out)
        return
    name = normalize_space(node.name)
    if node.role == "StaticText":
        if name and name != context and not (context_from_content and name in context):
            out.append(Line(depth, "StaticText", name, None, None))
        return
    value = None
    if node.role in FIELD_ROLES and node.value:
        value = node.value if node.role != "combobox" else normalize_space(node.value)
    mark = len(out)
    out.append(Line(depth, node.role, name, value, node.agid))
    if node.role == "combobox" or node.role == "listbox":
        for option in _ax_options(node):
            _collect(option, depth + 1, name, False, out)
    elif node.role not in FIELD_ROLES:
        from_content = node.role in NAME_FROM_CONTENT_ROLES
        for child in node.children:
            _collect(child, depth + 1, name, from_content, out)
    if len(out) == mark + 1 and not name and not value and node.role not in _KEEP_EMPTY:
        del out[mark]


def prune(root: AXNode) -> tuple[Line, ...]:
    """Apply the observation's rules (see the module docstring) to a raw tree.

    Args:
        root: The ``RootWebArea`` node.

    Returns:
        The kept lines in order; the root is the first, at depth 0.
    """
    out = [Line(0, root.role or "RootWebArea", normalize_space(root.name), None, None)]
    for child in root.children:
        _collect(child, 1, "", False, out)
    return tuple(out)


def render(lines: Iterable[Line], values: Mapping[str, str] | None = None) -> str:
    """The observation text of ``lines``.

    Args:
        lines: From :func:`prune`.
        values: Values that replace those of the fields with these ids (what the agent typed or
            selected since the page loaded).
    """
    parts = []
    for depth, role, name, value, agid in lines:
        if values and agid in values and role in FIELD_ROLES:
            value = values[agid] or None
        text = "\t" * depth + (f"[{agid}] " if agid else "") + role
        if name:
            text += f" '{name}'"
        if value:
            text += f" value='{value}'"
        parts.append(text)
    return "\n".join(parts)


@dataclass(frozen=True)
class PageObservation:
    """What the agent sees of a page.

    Attributes:
        url: The page's URL.
        title: Its title (the root node's name).
        text: The accessibility-tree text.
        screenshot: A PNG of the viewport when the backend takes screenshots, else ``None``.
    """

    url: str
    title: str
    text: str
    screenshot: bytes | None = None


# --------------------------------------------------------------------------- elements to tree

_TAG_ROLES = {
    "nav": "navigation", "main": "main", "aside": "complementary", "article": "article",
    "form": "form", "p": "paragraph", "ul": "list", "ol": "list", "li": "listitem",
    "strong": "strong", "em": "emphasis", "button": "button", "label": "LabelText",
    "option": "option", "br": "LineBreak", "hr": "separator", "blockquote": "blockquote",
    **{h: "heading" for h in HEADINGS},
}
_INPUT_ROLES = {"search": "searchbox", "submit": "button", "reset": "button", "button": "button",
                "image": "button", "checkbox": "checkbox", "radio": "radio",
                "number": "spinbutton", "range": "slider"}
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_BLOCK = CLOSES_P | {"body", "option", "optgroup", "li", "tr", "td", "th"}
_LABELABLE = frozenset({"button", "input", "select", "textarea", "meter", "output", "progress"})
_FROM_CONTENT = frozenset({"link", "button", "heading", "option"})
_SPACED_SOURCES = frozenset({"attribute", "related", "title", "value", "placeholder"})
_CONTROLS = frozenset({"button", "input", "select", "textarea", "fieldset", "output"})
_MAX_NAME_NODES = 101  # Chromium stops a name after visiting 100 descendants


def _inline(node: Element | str) -> bool:
    """Rendered and inline-level (text, span, a, button, input, ...), as Chromium's layout."""
    return isinstance(node, str) or (node.tag not in _BLOCK and not not_rendered(node))


def _spaced(previous: Element | str, child: Element | str, last_source: str,
            source: str) -> bool:
    """Whether Chromium puts a space between two adjacent pieces of a name from content."""
    if not (_inline(previous) and _inline(child)):
        return True
    if last_source in _SPACED_SOURCES or source in _SPACED_SOURCES:
        return True
    return any(isinstance(n, Element) and n.tag in _CONTROLS for n in (previous, child))


class _Namer:
    """Accessible names, for the contract's vocabulary, the way Chromium computes them."""

    def __init__(self, elements: list[Element]) -> None:
        self.ids: dict[str, Element] = {}
        for el in elements:
            if "id" in el.attrs:
                self.ids.setdefault(el.attrs["id"], el)
        self.labels: dict[int, list[Element]] = {}
        for el in elements:
            if el.tag == "label":
                target = self._labelled(el)
                if target is not None:
                    self.labels.setdefault(target.index, []).append(el)
        self._visited: set[int] = set()
        self._seen = 0

    def _labelled(self, label: Element) -> Element | None:
        if "for" in label.attrs:
            el = self.ids.get(label.attrs["for"])
            return el if el is not None and self._labelable(el) else None
        todo = [c for c in reversed(label.children) if isinstance(c, Element)]
        while todo:
            el = todo.pop()
            if self._labelable(el):
                return el
            todo.extend(c for c in reversed(el.children) if isinstance(c, Element))
        return None

    @staticmethod
    def _labelable(el: Element) -> bool:
        return el.tag in _LABELABLE and not (el.tag == "input" and input_type(el) == "hidden")

    def _content(self, el: Element) -> str:
        """Name from content: the children's texts, joined the way Chromium joins them."""
        parts: list[str] = []
        previous: Element | str | None = None
        last_source = ""
        for child in el.children:
            if self._seen > _MAX_NAME_NODES:
                break
            if isinstance(child, str):
                self._seen += bool(child.strip(HTML_SPACE))
                result, source = child, "contents"
            elif aria_hidden(child):
                continue
            else:
                result, source = self._alternative(child)
            if (result and previous is not None and parts and parts[-1][-1] not in HTML_SPACE
                    and result[0] not in HTML_SPACE
                    and _spaced(previous, child, last_source, source)):
                parts.append(" ")
            if result:
                parts.append(result)
                last_source = source
            previous = child
        return "".join(parts)

    def _labels_text(self, el: Element) -> str:
        """The text of the labels of ``el`` (skipping any already visited), joined by spaces."""
        return " ".join(self._alternative(label)[0] for label in self.labels[el.index])

    def _alternative(self, el: Element) -> tuple[str, str]:
        """The text an element adds to a name from content, and where it came from."""
        if el.index in self._visited or not_rendered(el):
            return "", ""
        self._visited.add(el.index)
        self._seen += 1
        if el.tag == "br":
            return "\n", "contents"
        attrs = el.attrs
        if attrs.get("aria-labelledby", "").strip():
            refs = [self.ids.get(i) for i in attrs["aria-labelledby"].split()]
            text = " ".join(self._alternative(r)[0] for r in refs if r is not None)
            if text.strip(HTML_SPACE):
                return text, "related"
        if attrs.get("aria-label", "").strip(HTML_SPACE):
            return attrs["aria-label"], "attribute"
        if el.tag == "select":
            options = select_options(el)
            index = selected_index(options)
            return (option_label(options[index]) if index >= 0 else ""), "value"
        if el.tag == "input":
            if input_type(el) not in BLOCKING_TYPES:
                return button_text(el), "value"
            if field_value(el):
                return field_value(el), "value"
            if el.index in self.labels:
                return self._labels_text(el), "related"
            if attrs.get("title", ""):
                return attrs["title"], "title"
            return attrs.get("placeholder", ""), "placeholder"
        if el.tag in _LABELABLE and el.index in self.labels:
            text = self._labels_text(el)
            if text.strip(HTML_SPACE):
                return text, "related"
        text = self._content(el)
        if text.strip(HTML_SPACE):
            return text, "contents"
        if attrs.get("title", "") and el.tag not in ("span", "div", "p"):
            return attrs["title"], "title"
        return "", ""

    def name(self, el: Element, role: str) -> str:
        """The accessible name of ``el`` with role ``role`` (not whitespace-collapsed)."""
        self._visited, self._seen = {el.index}, 1
        attrs = el.attrs
        if attrs.get("aria-labelledby", "").strip():
            refs = [self.ids.get(i) for i in attrs["aria-labelledby"].split()]
            text = " ".join(self._alternative(r)[0] for r in refs if r is not None)
            if normalize_space(text):
                return text
        if attrs.get("aria-label", "").strip():
            return attrs["aria-label"]
        if el.tag in _LABELABLE and el.index in self.labels:  # labels win, even empty ones
            return self._labels_text(el)
        if el.tag in ("input", "select") and role != "button":
            if attrs.get("title", "").strip():
                return attrs["title"]
            return attrs.get("placeholder", "") if el.tag == "input" else ""
        text = ""
        if el.tag == "input":
            text = button_text(el)
        elif role == "option":
            text = option_label(el)
        elif role in _FROM_CONTENT:
            text = self._content(el)
        if not normalize_space(text) and role not in ("paragraph", "generic"):
            text = attrs.get("title", "") or text
        return text


def _role(el: Element, sectioned: bool) -> str:
    tag = el.tag
    if tag == "a":
        return "link" if "href" in el.attrs else "generic"
    if tag == "input":
        return _INPUT_ROLES.get(input_type(el), "textbox")
    if tag == "select":
        multiple = "multiple" in el.attrs or el.attrs.get("size", "1").strip() not in ("", "0", "1")
        return "listbox" if multiple else "combobox"
    if tag in ("header", "footer"):
        if sectioned:
            return "sectionheader" if tag == "header" else "sectionfooter"
        return "banner" if tag == "header" else "contentinfo"
    if tag == "section":
        labelled = any(el.attrs.get(a, "").strip() for a in ("aria-label", "aria-labelledby",
                                                             "title"))
        return "region" if labelled else "generic"
    return _TAG_ROLES.get(tag, "generic")


def _ax_children(el: Element, namer: _Namer, sectioned: bool, out: list[AXNode]) -> None:
    """Append the raw accessibility nodes of ``el``'s children to ``out``."""
    for child in el.children:
        if isinstance(child, str):
            out.append(AXNode("StaticText", child))
            continue
        if not_rendered(child) or aria_hidden(child):
            continue
        inner_sectioned = sectioned or child.tag in _SECTIONING
        role = _role(child, sectioned)
        if role in LIFTED_ROLES:
            _ax_children(child, namer, inner_sectioned, out)
            continue
        node = AXNode(role, namer.name(child, role), agid=child.agid)
        if role in ("textbox", "searchbox"):
            node.value = field_value(child)
        elif role in ("combobox", "listbox"):
            options = select_options(child)
            index = selected_index(options)
            node.value = option_label(options[index]) if index >= 0 and role == "combobox" \
                else None
            node.children = [AXNode("option", option_label(o), agid=o.agid) for o in options]
        elif child.tag == "input":
            node.children = [AXNode("StaticText", button_text(child))]
        else:
            _ax_children(child, namer, inner_sectioned, node.children)
        out.append(node)


@dataclass(frozen=True)
class ParsedPage:
    """A parsed page.

    Attributes:
        title: The document title (whitespace-collapsed).
        lines: The pruned tree (:func:`render` turns it into the observation text).
        elements: The elements inside body in document order, each with its ``agid``.
        by_id: The first element per ``data-agid``.
        numbered: The page had no ``data-agid`` and was numbered here in document order.
    """

    title: str
    lines: tuple[Line, ...]
    elements: tuple[Element, ...]
    by_id: Mapping[str, Element]
    numbered: bool


@functools.lru_cache(maxsize=256)
def parse_page(html: str) -> ParsedPage:
    """Parse a page into its observation lines and element table (cached by content).

    Args:
        html: The page's HTML source.
    """
    body, elements, title = parse_html(html)
    root = AXNode("RootWebArea", title)
    _ax_children(body, _Namer(elements), False, root.children)
    by_id: dict[str, Element] = {}
    for el in elements:
        if el.agid is not None:
            by_id.setdefault(el.agid, el)
    numbered = bool(elements) and not any("data-agid" in el.attrs for el in elements)
    return ParsedPage(title, prune(root), tuple(elements), by_id, numbered)
