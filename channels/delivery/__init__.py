"""Where the messages of conversations go: the outlet that records and pushes them, the
bus and replay history, the SQL transcripts, the outbox relay and proactive order news,
and wiping a deleted customer's conversations from the bot."""
