"""The shop's expert: the next action toward a full match, read off the observation text.

It reads only what the agent reads (the tree text and the URL) plus the task and the session's
event log, so it acts the same on both backends: search the instruction, open the first fully
matching product in the results (next page if none is shown), choose every goal option, buy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

from agentgym.envs.web.shop.app import SessionState
from agentgym.envs.web.shop.catalog import Catalog
from agentgym.envs.web.shop.tasks import WebTask, matches_goal

__all__ = ["TreeLine", "expert_action", "parse_tree"]

_LINE = re.compile(r"^\t*\[(?P<id>[^\]]+)\] (?P<role>\S+)(?: '(?P<rest>.*)')?$")
_VALUE = "' value='"


@dataclass(frozen=True)
class TreeLine:
    """One element line of the observation: ``[id] role 'name' value='...'``."""

    id: str
    role: str
    name: str
    value: str


@lru_cache(maxsize=64)
def parse_tree(text: str) -> tuple[TreeLine, ...]:
    """The lines of ``text`` that carry an element id, in page order (cached: the env's oracle
    and its ``candidate_actions`` read the same page every step)."""
    out = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        rest, value = match.group("rest") or "", ""
        if _VALUE in rest:
            rest, value = rest.rsplit(_VALUE, 1)
        out.append(TreeLine(match.group("id"), match.group("role"), rest, value))
    return tuple(out)


def _find(lines: tuple[TreeLine, ...], role: str, name: str) -> TreeLine | None:
    return next((ln for ln in lines if ln.role == role and ln.name == name), None)


def _item_action(lines: tuple[TreeLine, ...], task: WebTask, query: dict[str, list[str]]) -> str | None:
    """On a fully matching product's page: back to the overview, each goal option, then buy."""
    if query.get("tab", ["overview"])[0] != "overview":
        back = _find(lines, "link", "< Prev")
        return f"click('{back.id}')" if back else None
    for group, value in task.options.items():
        if query.get(f"opt.{group}", [None])[0] != value:
            link = _find(lines, "link", value)
            if link:
                return f"click('{link.id}')"
    buy = _find(lines, "button", "Buy Now")
    return f"click('{buy.id}')" if buy else None


def expert_action(task: WebTask, catalog: Catalog, url: str, text: str,
                  session: SessionState) -> str | None:
    """The expert's next action on the page ``url`` showing ``text``; ``None`` once bought."""
    if session.done:
        return None
    lines = parse_tree(text)
    parts = urlsplit(url)
    path, query = unquote(parts.path), parse_qs(parts.query)
    item = re.search(r"/item/([^/?]+)$", path)
    if item and item.group(1) in catalog and matches_goal(task, catalog[item.group(1)]):
        action = _item_action(lines, task, query)
        if action:
            return action
    if path.endswith("/search") and query.get("q", [""])[0] == task.instruction:
        for line in lines:
            if line.role == "link":
                pid = _pid_of_title(catalog, line.name)
                if pid and matches_goal(task, catalog[pid]):
                    return f"click('{line.id}')"
        more = _find(lines, "link", "Next >")
        if more:
            return f"click('{more.id}')"
    box = next((ln for ln in lines if ln.role in ("searchbox", "textbox")), None)
    if box is not None:
        if box.value != task.instruction:
            return f"fill('{box.id}', {task.instruction!r})"
        return f"press('{box.id}', 'Enter')"
    home = _find(lines, "link", "Back to Search")
    return f"click('{home.id}')" if home else None


@lru_cache(maxsize=8)
def _titles(catalog: Catalog) -> dict[str, str]:
    return {p.title: p.pid for p in catalog}


def _pid_of_title(catalog: Catalog, title: str) -> str | None:
    return _titles(catalog).get(title)
