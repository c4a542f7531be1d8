"""Chat shorthand is spelled out before a question is matched to the FAQ."""

import pytest

from knowledge.chat_words import spelled_out


@pytest.mark.parametrize(("typed", "spelled"), [
    ("pls show the payment options u accept", "please show the payment options you accept"),
    ("Can U ship to the US? thx", "Can you ship to the US? thanks"),
    ("whats ur returns policy w/o a receipt", "what's your returns policy without a receipt"),
    ("R you open on sundays", "are you open on sundays"),
    ("a bday pressie for my mum", "a birthday present for my mum"),
])
def test_shorthand_is_spelled_out(typed: str, spelled: str) -> None:
    assert spelled_out(typed) == spelled


@pytest.mark.parametrize("text", [
    "my ID card", "a u-boat print", "I'm ok with that", "the US store", "size UR-2",
    "order AT-7K2M9Q", "an r&b playlist", "the ring in size U", "Size R please",
])
def test_words_that_only_contain_shorthand_are_left_alone(text: str) -> None:
    assert spelled_out(text) == text


def test_shorthand_at_the_end_of_a_sentence_is_spelled_out() -> None:
    assert spelled_out("thank u. do u ship to spain?") == "thank you. do you ship to spain?"
