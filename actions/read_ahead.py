"""A search turn in one call of the API: the page read ahead by the turn's first action,
kept for the action that shows it.

"show me blue ceramic mugs" runs two actions in one turn: ``action_reset_preferences``
reads the words against the live catalog, then ``action_search_products`` searches with
the preferences read. The search reads the words again (``interpret``), so when the
preferences add nothing to them the first action can ask for the search itself: its
answer says how the words were read, and its page is the one the second action would get
(:class:`ReadAhead`). A call of the API on loopback costs more than the search it carries
(the HTTP exchange on both sides, the thread hand-overs of the API): this is one call per
search turn instead of two.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from actions.clients import SearchPage, SearchQuery
from commerce_core.observability.logs import request_id

KEPT_SECONDS = 10.0
"""A page is shown within the turn it was read in (milliseconds later) or never."""
MAX_KEPT = 256


class ReadAhead:
    """Search pages made ahead in a turn, each for the very query of the action that shows
    it later in the same turn (the turn's request id, the conversation and every parameter
    of the search must match); taken once. Pages of other turns, other conversations or
    older than :data:`KEPT_SECONDS` are never handed out: the action searches itself.

    Kept in the action server's process: where the two actions of a turn run in two
    processes, the second finds nothing and searches, as without this."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple[str, str, tuple[tuple[str, str], ...]],
                                 tuple[float, SearchPage]] = OrderedDict()

    @staticmethod
    def _key(conversation: str, query: SearchQuery
             ) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
        turn = request_id.get()
        return None if turn is None else (turn, conversation, tuple(query.params()))

    def keep(self, conversation: str, query: SearchQuery, page: SearchPage) -> None:
        key = self._key(conversation, query)
        if key is None:
            return
        self._pages[key] = (time.monotonic(), page)
        self._pages.move_to_end(key)
        while len(self._pages) > MAX_KEPT:
            self._pages.popitem(last=False)

    def take(self, conversation: str, query: SearchQuery) -> SearchPage | None:
        key = self._key(conversation, query)
        kept = self._pages.pop(key, None) if key is not None else None
        if kept is None or time.monotonic() - kept[0] > KEPT_SECONDS:
            return None
        return kept[1]


PAGES = ReadAhead()
