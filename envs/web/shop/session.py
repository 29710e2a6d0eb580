"""What a shop session did: its event log and state, as the app keeps them and the env reads them.

The app (:mod:`agentgym.envs.web.shop.app`) appends an event for every page it shows and every
cart or purchase request; :class:`SessionState` is the read-only snapshot the env and the tasks'
subgoal tracking look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

__all__ = ["CartEvent", "Event", "Options", "PurchaseEvent", "SearchEvent", "SessionState",
           "ViewEvent"]

Options = dict[str, str]


@dataclass(frozen=True)
class SearchEvent:
    """A results page was shown: the query, page, sort and the product ids on that page."""

    query: str
    page: int
    sort: str
    pids: tuple[str, ...]
    total: int
    kind: str = field(default="search", init=False)


@dataclass(frozen=True)
class ViewEvent:
    """An item page was shown: ``tab`` is ``'overview'`` or one of :data:`TABS`."""

    pid: str
    tab: str
    options: Options
    kind: str = field(default="view", init=False)


@dataclass(frozen=True)
class CartEvent:
    """A product (with the chosen options) went into the cart."""

    pid: str
    options: Options
    kind: str = field(default="cart", init=False)


@dataclass(frozen=True)
class PurchaseEvent:
    """The purchase that ended the session: ``(pid, chosen options)`` per item."""

    items: tuple[tuple[str, Options], ...]
    kind: str = field(default="purchase", init=False)


Event = Union[SearchEvent, ViewEvent, CartEvent, PurchaseEvent]


@dataclass(frozen=True)
class SessionState:
    """A snapshot of one session (the app keeps updating its own copy).

    Attributes:
        sid: The session id.
        instruction: The text shown at the top of every page.
        events: Everything the session did, in order.
        cart: ``(pid, options)`` in the cart.
        purchase: ``(pid, options)`` bought, or ``None`` before the purchase.
    """

    sid: str
    instruction: str
    events: tuple[Event, ...]
    cart: tuple[tuple[str, Options], ...]
    purchase: tuple[tuple[str, Options], ...] | None

    @property
    def done(self) -> bool:
        """Whether the session bought something (and is therefore over)."""
        return self.purchase is not None


@dataclass
class SessionLog:
    """A session as the app keeps it (mutable; :class:`SessionState` is its snapshot)."""

    instruction: str
    events: list[Event] = field(default_factory=list)
    cart: list[tuple[str, Options]] = field(default_factory=list)
    purchase: tuple[tuple[str, Options], ...] | None = None
