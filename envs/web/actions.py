"""The web action language, and what an action means on a page's element.

An action is one Python-style call with literal arguments, for example ``click('12')`` or
``fill('5', 'red shoes')``. It is parsed with :mod:`ast` (never evaluated): only the names in
:data:`ACTIONS` and literal strings and numbers are accepted. Anything else gives an error message
that shows the syntax, never an exception: bad agent output is an observation.

Both backends (text and browser) also share :func:`plan_action`, which checks an action against
the facts about its target element (:class:`ElementInfo`) and says what it will do (navigate,
submit a form, fill, select, nothing), so that they accept and refuse exactly the same actions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from agentgym.errors import closest

__all__ = [
    "ACTIONS",
    "REDIRECT_REFUSED",
    "ACTION_HELP",
    "Action",
    "ElementInfo",
    "FormInfo",
    "Plan",
    "normalize_url",
    "origin_of",
    "parse_action",
    "plan_action",
]

#: Each action's parameters: (name, kind) with kind ``id``, ``text`` or ``number``; a trailing
#: ``?`` marks an optional parameter.
ACTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "click": (("bid", "id"),),
    "fill": (("bid", "id"), ("value", "text")),
    "select_option": (("bid", "id"), ("option", "text")),
    "press": (("bid", "id"), ("key", "text")),
    "scroll": (("delta_x", "number"), ("delta_y", "number")),
    "goto": (("url", "text"),),
    "go_back": (),
    "go_forward": (),
    "noop": (),
    "stop": (("answer", "text?"),),
}

#: One line per action, shown in every syntax error (and usable in prompts).
ACTION_HELP = (
    "click('12') | fill('5', 'text') | select_option('7', 'option text') | press('5', 'Enter') | "
    "scroll(0, 200) | goto('/path') | go_back() | go_forward() | noop() | stop('answer')"
)

#: The error when a redirect leads off the origin (both backends stay on the page they were on).
REDIRECT_REFUSED = ("That navigation led outside {origin} (a redirect elsewhere) and was "
                    "blocked; the page is as it was.")

_MAX_ACTION_CHARS = 4000
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Action:
    """A parsed action.

    Attributes:
        name: One of :data:`ACTIONS`.
        args: The arguments, normalised: ids and texts as ``str``, scroll deltas as ``float``.
    """

    name: str
    args: tuple[str | float, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(repr(a) for a in self.args)})"


def _syntax_error(text: str, problem: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return f"Invalid action {shown!r}: {problem} Write exactly one action, one of: {ACTION_HELP}."


def _literal(node: ast.expr) -> tuple[bool, object]:
    """The value of a literal string or (possibly negated) number node; (False, None) otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
        return not isinstance(node.value, bool), node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        value = node.operand.value
        return True, -value if isinstance(node.op, ast.USub) else value
    return False, None


def _convert(value: object, kind: str, name: str, action: str) -> str | float:
    """Normalise one argument, or raise ValueError with the problem in words."""
    if kind == "id":
        text = str(value).strip() if isinstance(value, (str, int)) else None
        if isinstance(value, int) and value < 0:
            text = None
        if text is None or not _ID_RE.match(text):
            raise ValueError(f"{action}'s {name} must be an element id from the observation, "
                             f"like '12' (the number in [12]); got {value!r}.")
        return text
    if kind == "number":
        if not isinstance(value, (int, float)) or value != value or abs(value) > 1e6:
            raise ValueError(f"{action}'s {name} must be a number of pixels, got {value!r}.")
        return float(value)
    if isinstance(value, (int, float)):  # fill('5', 42): the agent meant the text "42"
        return str(value)
    return str(value)


def _bind(call: ast.Call, text: str) -> Action | str:
    name = call.func.id  # type: ignore[attr-defined]
    params = ACTIONS[name]
    example = ACTION_HELP.split(" | ")[list(ACTIONS).index(name)]
    values: dict[str, object] = {}
    if len(call.args) > len(params):
        return _syntax_error(text, f"{name} takes {len(params)} argument(s), "
                                   f"got {len(call.args)}; write it as {example}.")
    for param, node in zip(params, call.args):
        ok, values[param[0]] = _literal(node)
        if not ok:
            return _syntax_error(text, f"arguments must be plain quoted strings or numbers "
                                       f"(no variables, expressions or calls); e.g. {example}.")
    names = [p[0] for p in params]
    for keyword in call.keywords:
        if keyword.arg not in names or keyword.arg in values:
            return _syntax_error(text, f"{name} has no (second) argument {keyword.arg!r}; "
                                       f"write it as {example}.")
        ok, values[keyword.arg] = _literal(keyword.value)
        if not ok:
            return _syntax_error(text, f"arguments must be plain quoted strings or numbers; "
                                       f"e.g. {example}.")
    args: list[str | float] = []
    for param, kind in params:
        optional = kind.endswith("?")
        if param not in values:
            if optional:
                continue
            return _syntax_error(text, f"{name} is missing its {param}; write it as {example}.")
        try:
            args.append(_convert(values[param], kind.rstrip("?"), param, name))
        except ValueError as exc:
            return _syntax_error(text, str(exc))
    return Action(name, tuple(args))


def _strip_wrapping(text: str) -> str:
    text = text.strip()
    for fence in ("```", "`"):
        if len(text) > 2 * len(fence) and text.startswith(fence) and text.endswith(fence):
            text = text[len(fence):-len(fence)].strip()
            if text.startswith("python\n"):
                text = text[len("python\n"):].strip()
    return text


def parse_action(text: str) -> Action | str:
    """Parse one action.

    Args:
        text: The agent's action, e.g. ``"click('12')"``; surrounding whitespace and backticks
            are ignored.

    Returns:
        The :class:`Action`, or an error message (a ``str``) that says what was wrong and shows
        the syntax. Never raises on any input.
    """
    if not isinstance(text, str):
        return _syntax_error(repr(text), "an action must be a string.")
    source = _strip_wrapping(text)
    if not source:
        return _syntax_error(text, "it is empty.")
    if len(source) > _MAX_ACTION_CHARS:
        return _syntax_error(text, f"it is longer than {_MAX_ACTION_CHARS} characters.")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        hint = "more than one action per step" if ";" in source or "\n" in source else \
            "it is not a call like click('12') (check the quotes and brackets)"
        return _syntax_error(text, f"{hint}.")
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return _syntax_error(text, "it is not a call of an action name.")
    if call.func.id not in ACTIONS:
        matches = closest(call.func.id, ACTIONS)
        hint = f" Did you mean {matches[0]!r}?" if matches else ""
        return _syntax_error(text, f"unknown action {call.func.id!r}.{hint}")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords):
        return _syntax_error(text, "* and ** arguments are not allowed.")
    return _bind(call, text)


# --------------------------------------------------------------------------- URLs and origins


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, without the scheme's default port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _quote(text: str, unsafe: str) -> str:
    """Percent-encode C0 controls, non-ASCII (as UTF-8) and ``unsafe``, keeping existing %XX."""
    out = []
    for char in text:
        code = ord(char)
        if code < 0x21 or code > 0x7E or char in unsafe:
            out.extend(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=4096)  # pure, and asked for the same links again and again
def normalize_url(url: str, *, base: str = "") -> str:
    """Resolve ``url`` against ``base`` and serialise it the way a browser's URL parser does.

    Covers what a page of the web environment can contain: relative references, dot segments,
    backslashes, default ports, an empty path, and percent-encoding of spaces, quotes, angle
    brackets and non-ASCII characters in the path, query and fragment.
    """
    url = url.strip(" \t\n\r\f").replace("\t", "").replace("\n", "").replace("\r", "")
    absolute = urljoin(base, url.replace("\\", "/")) if base else url
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    if scheme not in _WEB_SCHEMES:
        return absolute
    path = _quote(parts.path or "/", ' "<>`{}')
    query = _quote(parts.query, " \"<>'")
    fragment = _quote(parts.fragment, ' "<>`')
    result = origin_of(absolute) + path
    if "?" in absolute.split("#", 1)[0]:
        result += "?" + query
    if "#" in absolute:
        result += "#" + fragment
    return result


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class FormInfo:
    """Facts about the form that an element would submit.

    Attributes:
        action: The form's ``action`` attribute as written (``None`` when absent).
        method: ``"get"`` or ``"post"``.
        enter_submits: Whether pressing Enter in one of its text fields submits it (it has a
            submit button, or exactly one text field).
    """

    action: str | None
    method: str
    enter_submits: bool


@dataclass(frozen=True)
class ElementInfo:
    """What both backends know about one element before acting on it.

    Attributes:
        agid: Its ``data-agid``.
        tag: Lower-case tag name.
        input_type: An ``input``'s type as the browser understands it (``"text"`` for unknown
            ones); ``""`` for other tags.
        hidden: Not rendered (``hidden`` on it or an ancestor, ``input type=hidden``, inside
            ``head``/``script``/``style``/``template``).
        disabled: Has ``disabled``.
        readonly: Has ``readonly``.
        href: The ``href`` (as written) of the link it is or is inside, if any.
        submits: The form it submits when clicked (it is, or is inside, a submit button of a
            form), if any.
        form: The form that owns it (for text fields: what Enter submits), if any.
        options: A ``select``'s options as ``(label, value, disabled)``.
        select: For an ``option``: the ``data-agid`` of its ``select``.
    """

    agid: str
    tag: str
    input_type: str = ""
    hidden: bool = False
    disabled: bool = False
    readonly: bool = False
    href: str | None = None
    submits: FormInfo | None = None
    form: FormInfo | None = None
    options: tuple[tuple[str, str, bool], ...] = ()
    select: str | None = None

    @property
    def kind(self) -> str:
        """A short word for messages: ``text box``, ``select``, ``link``, ``button``, ..."""
        if self.tag == "input":
            if self.input_type in TEXT_INPUT_TYPES:
                return "text box"
            return "button" if self.input_type in ("submit", "button", "reset") else \
                f"{self.input_type} input"
        return {"a": "link" if self.href is not None else "<a> without href",
                "select": "select", "option": "option", "button": "button"}.get(
                    self.tag, f"<{self.tag}>")


#: ``input`` types that take typed text (fill and Enter work on them).
TEXT_INPUT_TYPES = frozenset({"text", "search", "email", "url", "tel", "password"})


@dataclass(frozen=True)
class Plan:
    """What an action will do.

    Attributes:
        kind: ``navigate`` (``url``), ``submit`` (a form: clicking ``agid`` or Enter in it),
            ``fill`` (``text``), ``select`` (option ``index``), ``back``, ``forward``, ``stop``
            or ``none`` (nothing observable: scroll, noop, a click on inert text, other keys).
        agid: The element acted on, if any.
        url: For ``navigate``: the absolute URL.
        text: For ``fill``: the value; for ``stop``: the answer.
        index: For ``select``: the option's index.
    """

    kind: str
    agid: str = ""
    url: str = ""
    text: str = ""
    index: int = -1


def _check_url(url: str, *, base: str, origin: str, verb: str) -> str:
    """The absolute URL, or raise ValueError when it is outside ``origin``."""
    absolute = normalize_url(url, base=base)
    if urlsplit(absolute).scheme not in _WEB_SCHEMES or origin_of(absolute) != origin:
        raise ValueError(f"{verb} {absolute!r} refused: only pages of {origin} can be visited. "
                         f"Use a link on the page or a path like goto('/').")
    return absolute


def _option_index(info: ElementInfo, wanted: str) -> int | str:
    """The index of the option whose text (or else value) is ``wanted``, or an error message."""
    labels = [" ".join(o[0].split()) for o in info.options]
    key = " ".join(wanted.split())
    index = next((i for i, label in enumerate(labels) if label == key), None)
    if index is None:
        index = next((i for i, o in enumerate(info.options) if o[1] == wanted), None)
    if index is None:
        index = next((i for i, label in enumerate(labels) if label.casefold() == key.casefold()),
                     None)
    if index is not None:
        if info.options[index][2]:
            return f"Option {labels[index]!r} of select '{info.agid}' is disabled."
        return index
    listing = ", ".join(repr(x) for x in labels) or "(none)"
    guess = closest(wanted, labels, n=1)
    hint = f" Did you mean {guess[0]!r}?" if guess else ""
    return f"Select '{info.agid}' has no option {wanted!r}.{hint} Its options: {listing}."


def _plan_on_element(action: Action, info: ElementInfo, *, page_url: str,
                     origin: str) -> Plan | str:
    bid = info.agid
    if info.tag == "option" and info.select and action.name in ("click", "select_option"):
        return (f"Element '{bid}' is an option; choose it on its select with "
                f"select_option('{info.select}', 'option text').")
    if info.hidden:
        return f"Element '{bid}' ({info.kind}) is not visible on the page; act on a shown element."
    if action.name == "fill":
        if info.tag != "input" or info.input_type not in TEXT_INPUT_TYPES:
            fix = f"select_option('{bid}', 'option text')" if info.tag == "select" else \
                f"click('{bid}')"
            return f"fill needs a text box, but element '{bid}' is a {info.kind}; use {fix}."
        if info.disabled or info.readonly:
            return f"Text box '{bid}' is {'disabled' if info.disabled else 'read-only'}."
        return Plan("fill", bid, text=str(action.args[1]).replace("\r", "").replace("\n", ""))
    if action.name == "select_option":
        if info.tag != "select":
            fix = f"fill('{bid}', 'text')" if info.kind == "text box" else f"click('{bid}')"
            return f"select_option needs a select, but element '{bid}' is a {info.kind}; use {fix}."
        if info.disabled:
            return f"Select '{bid}' is disabled."
        index = _option_index(info, str(action.args[1]))
        return index if isinstance(index, str) else Plan("select", bid, index=index)
    if action.name == "press":
        key = str(action.args[1]).strip()
        if not key:
            return "press needs a key name, e.g. press('5', 'Enter')."
        if key.lower() not in ("enter", "return"):
            return Plan("none", bid)  # only Enter has an effect on these pages
        if info.kind == "text box":
            return _plan_submit(info.form, bid, page_url=page_url, origin=origin,
                                enter=True, disabled=info.disabled)
        if info.href is None and info.submits is None:
            return Plan("none", bid)
    # click (or Enter on a link or button: the same)
    if info.href is not None:
        try:
            return Plan("navigate", bid, url=_check_url(info.href, base=page_url, origin=origin,
                                                        verb="Link to"))
        except ValueError as exc:
            return str(exc)
    if info.submits is not None:
        return _plan_submit(info.submits, bid, page_url=page_url, origin=origin, enter=False,
                            disabled=info.disabled)
    return Plan("none", bid)


def _plan_submit(form: FormInfo | None, bid: str, *, page_url: str, origin: str, enter: bool,
                 disabled: bool) -> Plan | str:
    if form is None or disabled or (enter and not form.enter_submits):
        return Plan("none", bid)
    try:
        _check_url(form.action or page_url, base=page_url, origin=origin, verb="Form sending to")
    except ValueError as exc:
        return str(exc)
    return Plan("submit", bid)


def plan_action(action: Action, info: ElementInfo | None, *, page_url: str, origin: str,
                known_ids: int = 0) -> Plan | str:
    """Check ``action`` against its element and say what it will do.

    Args:
        action: A parsed action.
        info: Facts about the element named by the action's id (``None`` when the page has no
            element with that id; ignored for actions without an id).
        page_url: The current page's URL (relative links and form actions resolve against it).
        origin: The only origin that may be visited, as given by :func:`origin_of`.
        known_ids: How many ids the page has (for the message about an unknown id).

    Returns:
        A :class:`Plan`, or an error message for the agent.
    """
    name = action.name
    if name in ("scroll", "noop"):
        return Plan("none")
    if name == "stop":
        return Plan("stop", text=str(action.args[0]) if action.args else "")
    if name in ("go_back", "go_forward"):
        return Plan("back" if name == "go_back" else "forward")
    if name == "goto":
        try:
            return Plan("navigate", url=_check_url(str(action.args[0]), base=page_url,
                                                   origin=origin, verb="goto"))
        except ValueError as exc:
            return str(exc)
    if info is None:
        span = f" (this page has ids 1 to {known_ids})" if known_ids else ""
        return (f"No element with id '{action.args[0]}' on this page{span}. Use an id shown in "
                f"brackets in the observation, e.g. click('12') for [12].")
    return _plan_on_element(action, info, page_url=page_url, origin=origin)
