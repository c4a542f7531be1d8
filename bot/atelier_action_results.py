"""Rasa 3.6 checks each answer of the action server with ``jsonschema.validate``, which
first checks the schema itself against its meta-schema (draft 2020-12, whose dynamic
references make that slow): under load that check took half of Rasa's CPU, for a schema
that never changes. :func:`install` makes Rasa check the schema once and each answer
against it, as before: an answer that breaks the schema is refused with Rasa's message.
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

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, make sure your "
                "response from the Action endpoint is valid. For more information about "
                f"the format visit {DOCS_BASE_URL}/custom-actions")
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
