"""A tiny HTML builder for the shop's pages.

It writes exactly the pages the contract of :mod:`agentgym.envs.web` allows: only the tags in
:data:`ALLOWED_TAGS`, text and attribute values escaped, and ``data-agid="1"``, ``"2"``, ... on
every element inside ``<body>`` in document order, numbered at render time so a page never has to
count them itself. Nesting that an HTML parser would silently repair (a ``<div>`` inside a ``<p>``,
a link inside a link) is refused, so a browser builds the same tree as the text backend's parser.

Example:
    >>> body = [h("main", h("p", "Tom & Jerry"), h("a", "Home", href="/"))]
    >>> render_page(title="Demo", body=body).decode()  # doctest: +ELLIPSIS
    '<!DOCTYPE html>...<main data-agid="1">...<p data-agid="2">Tom &amp; Jerry</p>...'
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Union

from agentgym.envs.web.htmlparse import Element, TreeBuilder, prepare

__all__ = ["ALLOWED_TAGS", "Node", "h", "render_page"]

#: Every tag a page may use inside ``<body>`` (the contract in :mod:`agentgym.envs.web`).
ALLOWED_TAGS = frozenset(
    "header nav main footer section div span p h1 h2 h3 ul ol li strong em br a form input label "
    "select option button".split()
)
_VOID = frozenset({"input", "br"})
#: Elements whose content must be phrasing content; a parser would close or move anything else.
_PHRASING_ONLY = frozenset("p span strong em h1 h2 h3 a label button option".split())
_PHRASING = frozenset("span strong em br a input label select button".split())
_REQUIRED = {"a": ("href",), "form": ("method", "action"), "input": ("type",), "button": ("type",)}
_INPUT_TYPES = frozenset({"text", "search", "hidden", "submit"})

Child = Union["Node", str]


@dataclass
class Node:
    """One element: its tag, attributes (values already plain strings) and children."""

    tag: str
    attrs: dict[str, str | bool] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)


def _check(tag: str, attrs: dict[str, str | bool], children: Sequence[Child]) -> None:
    """Refuse what the contract forbids or what a browser would re-parent (programmer errors)."""
    if tag not in ALLOWED_TAGS:
        raise ValueError(f"<{tag}> is not allowed in shop pages; use one of "
                         f"{sorted(ALLOWED_TAGS)}.")
    missing = [name for name in _REQUIRED.get(tag, ()) if name not in attrs]
    if missing:
        raise ValueError(f"<{tag}> needs the attribute(s) {missing}.")
    if tag == "input" and attrs["type"] not in _INPUT_TYPES:
        raise ValueError(f"<input type={attrs['type']!r}> is not allowed; use "
                         f"{sorted(_INPUT_TYPES)}.")
    if tag == "button" and attrs["type"] != "submit":
        raise ValueError("<button> must have type='submit' (pages have no JavaScript).")
    if tag == "form" and attrs["method"] not in ("get", "post"):
        raise ValueError(f"<form method={attrs['method']!r}>: use 'get' or 'post'.")
    if tag in _VOID and children:
        raise ValueError(f"<{tag}> is a void element and takes no children.")
    if tag == "select" and any(not isinstance(c, Node) or c.tag != "option" for c in children):
        raise ValueError("<select> holds <option> elements only.")
    for child in children:
        if not isinstance(child, Node):
            continue
        if tag in _PHRASING_ONLY and child.tag not in _PHRASING:
            raise ValueError(f"<{child.tag}> inside <{tag}> would be moved by an HTML parser.")
        if tag == "a" and child.tag == "a":
            raise ValueError("A link inside a link would be split by an HTML parser.")


def h(tag: str, *children: Child | None | Iterable[Child | None],
      **attrs: str | bool | None) -> Node:
    """Build an element.

    Args:
        tag: One of :data:`ALLOWED_TAGS`.
        *children: Text (escaped when rendered), nodes, or iterables of them; ``None`` is skipped
            so optional parts read naturally (``link if cond else None``).
        **attrs: Attributes. A trailing underscore is dropped (``for_`` → ``for``), ``True`` writes
            a bare attribute (``selected``), ``False`` and ``None`` leave it out. ``data-agid`` is
            added at render time and may not be given.

    Returns:
        The element.

    Raises:
        ValueError: The tag, an attribute or the nesting breaks the page contract.
    """
    flat: list[Child] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, (str, Node)):
            flat.append(child)
        else:
            flat.extend(c for c in child if c is not None)
    clean = {k.rstrip("_"): v for k, v in attrs.items() if v is not None and v is not False}
    if "data-agid" in clean:
        raise ValueError("data-agid is numbered at render time; do not set it.")
    _check(tag, clean, flat)
    return Node(tag, clean, flat)


def _render(node: Child, out: list[str], counter: list[int]) -> None:
    if isinstance(node, str):
        out.append(html.escape(node, quote=False))
        return
    counter[0] += 1
    out.append(f'<{node.tag} data-agid="{counter[0]}"')
    for name, value in node.attrs.items():
        out.append(f" {name}" if value is True else f' {name}="{html.escape(str(value))}"')
    out.append(">")
    if node.tag in _VOID:
        return
    for child in node.children:
        _render(child, out, counter)
    out.append(f"</{node.tag}>")
    if node.tag not in _PHRASING and node.tag != "option":
        out.append("\n")  # one block per line: readable source, and ignored by every parser


def render_page(*, title: str, body: Sequence[Child]) -> bytes:
    """Render a complete UTF-8 HTML5 page with ``data-agid`` numbered from 1 in document order.

    The page is also announced to :func:`agentgym.envs.web.htmlparse.prepare`, so that the text
    backend builds its tree from these nodes instead of tokenizing the HTML again.

    Args:
        title: The page's ``<title>`` text (escaped).
        body: The children of ``<body>``.

    Returns:
        The page as UTF-8 bytes.
    """
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f"<title>{html.escape(title, quote=False)}</title>\n</head>\n<body>\n",
    ]
    counter = [0]
    for child in body:
        _render(child, out, counter)
    out.append("</body>\n</html>\n")
    text = "".join(out)
    prepare(text, lambda: _parse(title, body))
    return text.encode("utf-8")


def _clean(text: str) -> str:
    """What the tokenizer's input normalisation does to a piece of text."""
    if "\r" in text or "\0" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    return text


def _parse(title: str, body: Sequence[Child]) -> tuple[Element, list[Element], str]:
    """The parse of :func:`render_page`'s HTML, from the tokenizer's events for it (the page's
    tags, text and attribute values as written, before escaping), with the same builder."""
    builder = TreeBuilder()
    builder.handle_starttag("title", {})
    builder.handle_data(_clean(title))
    builder.handle_endtag("title")
    builder.handle_starttag("body", {})
    builder.handle_data("\n")
    counter = [0]
    for child in body:
        _feed(child, builder, counter)
    builder.handle_data("\n\n")  # after </body> and after </html>
    return builder.finish()


def _feed(node: Child, builder: TreeBuilder, counter: list[int]) -> None:
    """:func:`_render`'s output as tokenizer events."""
    if isinstance(node, str):
        if node:
            builder.handle_data(_clean(node))
        return
    counter[0] += 1
    attrs = {"data-agid": str(counter[0])}
    for name, value in node.attrs.items():
        attrs.setdefault(name.lower(), "" if value is True else _clean(str(value)))
    builder.handle_starttag(node.tag, attrs)
    if node.tag in _VOID:
        return
    for child in node.children:
        _feed(child, builder, counter)
    builder.handle_endtag(node.tag)
    if node.tag not in _PHRASING and node.tag != "option":
        builder.handle_data("\n")
