"""The web widget's side of the gateway: its chat API and WebSocket, the origins allowed
to use them, and the secrets that prove a conversation is the caller's. The widget's own
files are served from ``channels/static``."""
