"""Handing a conversation to a person: its states and allowed moves (``state``), the SQL
that makes them (``repository``), the help desk around them (``desk``) and the hours the
shop is staffed (``staffing``)."""
