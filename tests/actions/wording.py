"""Sentences the tests expect the shopper to see, word for word (the domain's responses
say them; tests compare what the actions' messages render to)."""

UNAVAILABLE = ("Sorry, I can't reach the shop's catalogue right now. Please try again in a "
               "minute; your conversation is kept.")
ORDERS_UNAVAILABLE = ("Sorry, I can't reach the shop's orders right now. Please try again in "
                      "a minute; your conversation is kept.")
ANSWERS_UNAVAILABLE = ("Sorry, I can't reach the shop's answers right now. Please try again "
                       "in a minute; your conversation is kept.")
NOT_SURE = "I'm not sure I know the answer to that, and I'd rather not guess."
CLARIFY = "Sorry, I'm not sure what you mean. Did you want to…"
OFFER = "I'm sorry, I'm still not getting it. Would you like to talk to a person from the team?"
HANDOFF_TEXT = ("I'm connecting you with a member of the team — they'll answer here in the "
                "chat as soon as they can.")
BACK_TEXT = "I'm back — thanks for waiting. Let's carry on."
OUT_OF_SCOPE = "I'm afraid I can't help with that — I'm the shop's assistant."
