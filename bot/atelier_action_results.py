"""Rasa 3.6 checks each answer of the action server with ``jsonschema.validate``, which
first checks the schema itself against its meta-schema (draft 2020-12, whose dynamic
references make that slow): under load that check took half of Rasa's CPU, for a schema
that never changes. Then each event of the answer is checked against all 23 kinds of event
of the schema's ``oneOf``, to find that exactly one fits.

:func:`install` makes Rasa check the schema once, and each event against the kind its
``event`` field names (the kinds are told apart by that field's constant, so the one named
is the only one that can fit: an answer that passes this check passes Rasa's). An answer
that does not pass is checked as Rasa checks it, which finds the error that Rasa reports:
it is refused with Rasa's message.
"""

from __future__ import annotations

from typing import Any, Dict, Text

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


def install() -> None:
    schema = RemoteAction.action_response_format_spec()
    checker = validators.validator_for(schema)
    checker.check_schema(schema)
    validator = checker(schema)
    events = schema["properties"]["events"]
    answer = checker({**schema, "properties": {**schema["properties"],
                                               "events": {"type": "array"}}})
    event = {key: value for key, value in events["items"].items() if key != "oneOf"}
    by_kind = {kind["properties"]["event"]["const"]: checker({"allOf": [event, kind]})
               for kind in events["items"]["oneOf"]}

    def _fits(result: Any) -> bool:
        """Whether ``result`` passes Rasa's check, checked kind by kind."""
        if not answer.is_valid(result):
            return False
        for item in result.get("events") or []:
            name = item.get("event") if isinstance(item, dict) else None
            kind = by_kind.get(name) if isinstance(name, str) else None
            if kind is None or not kind.is_valid(item):
                return False
        return True

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        if _fits(result):
            return True
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid. For more information about "
                f"the format visit {DOCS_BASE_URL}/custom-actions")
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
