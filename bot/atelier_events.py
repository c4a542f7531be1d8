"""Rasa 3.6 finds the class of an event by its name (``Event.resolve_by_type``) by listing
every subclass of ``Event`` again, abstract ones checked with ``inspect``, for each event
it reads: the conversation store's events at the start of each turn and the action
server's events after each action, several hundred a turn, a tenth of Rasa's time per
turn. :func:`install` keeps the name → class table and lists the subclasses again only
for a name it does not hold (an event class imported since), with the same answers.
"""

from __future__ import annotations

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_classes: dict[str, type[Event]] = {}


def _table() -> dict[str, type[Event]]:
    table: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)  # the first one listed wins, as in Rasa
    return table


def resolve_by_type(type_name: str,
                    default: type[Event] | None = None) -> type[Event] | None:
    """``Event.resolve_by_type`` of Rasa 3.6, from the kept table."""
    global _classes
    cls = _classes.get(type_name)
    if cls is None:
        _classes = _table()
        cls = _classes.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility with old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
