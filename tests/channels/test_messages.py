from channels.messages import from_rasa


def test_text_and_its_custom_payload_become_one_message() -> None:
    card = {"id": 1, "sku": "A-1", "name": "Mug", "price": "20.00", "currency": "EUR",
            "image_url": "/i.svg", "buttons": [{"title": "Tell me more", "payload": "/x"}]}
    messages = from_rasa([
        {"recipient_id": "c", "text": "Here is what I found:"},
        {"recipient_id": "c", "custom": {"cards": [card]}},
        {"recipient_id": "c", "text": "Anything else?",
         "buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ])
    assert [m.text for m in messages] == ["Here is what I found:", "Anything else?"]
    assert [c.sku for c in messages[0].cards] == ["A-1"]
    assert messages[0].cards[0].price == "20.00"
    assert [(b.title, b.payload) for b in messages[1].buttons] == [("Yes", "/affirm")]
    assert all(m.role == "bot" for m in messages)


def test_empty_outputs_are_dropped_and_links_kept() -> None:
    messages = from_rasa([
        {"recipient_id": "c"},
        {"recipient_id": "c", "text": "Pay here:",
         "custom": {"link": {"title": "Pay now", "url": "http://localhost:8000/pay/t"}}},
    ])
    assert len(messages) == 1
    assert messages[0].link is not None and messages[0].link.title == "Pay now"
