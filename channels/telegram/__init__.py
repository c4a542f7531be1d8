"""Telegram for the gateway (python-telegram-bot 22).

- :mod:`.channel` — the handlers and :meth:`TelegramChannel.deliver` (also for proactive
  messages);
- :mod:`.render` — text splitting, captions, inline keyboards;
- :mod:`.runtime` — the application in polling or webhook mode;
- :mod:`.webhook` — ``POST /telegram/webhook`` and the gateway's start/stop helpers;
- ``python -m channels.telegram`` — the polling worker.
"""
