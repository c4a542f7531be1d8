"""Telegram as a channel of the gateway: updates in, gateway messages out.

Each private chat is the conversation ``tg-<chat_id>``; its turns go through the same
``ChatService`` as the widget's, which records them and asks Rasa, and count against the
same per-conversation rate limit.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from functools import partial

from telegram import Bot, BotCommand, CallbackQuery, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from channels.chat import ChatInputError, ChatService
from channels.config import GatewaySettings
from channels.identity import TELEGRAM_PREFIX
from channels.limits import RateLimited, RateLimiter, make_limiter
from channels.messages import Button, Card, ChatMessage, Link
from channels.telegram.buttons import ButtonStore
from channels.telegram.markdown import to_telegram_html
from channels.telegram.photos import photo_source
from channels.telegram.render import (
    MAX_CAPTION,
    MAX_TEXT,
    absolute_url,
    card_caption,
    keyboard,
    split_text,
    telegram_length,
)
from channels.telegram.retry import RetryPolicy
from commerce_core.observability.logs import new_request_id, request_id

log = logging.getLogger(__name__)

GREETING_REQUEST = "hi"
HUMAN_REQUEST = "I'd like to talk to a person"
HUMAN_PAYLOAD = "/request_human"
CANCEL_REQUEST = "cancel"
HELP_TEXT = (
    "I'm the shop's assistant. Tell me what you are looking for, for example "
    "\"blue ceramic mugs\" or \"a silver necklace under 80 euros\", and I'll show you "
    "matching pieces from the shop. Tap a button under a product to hear more about it.\n\n"
    "/start – start over\n"
    "/help – this message\n"
    "/human – ask for a person from the shop\n"
    "/cancel – stop what we are doing")
TEXT_ONLY = "Sorry, I can only read text for now. Please type your question."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
EXPIRED_BUTTON = "That button has expired. Please type what you'd like instead."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again."
COMMANDS = [BotCommand("start", "Start over"), BotCommand("help", "What I can do"),
            BotCommand("human", "Talk to a person from the shop"),
            BotCommand("cancel", "Stop what we are doing")]
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]


def conversation_id_for(chat_id: int) -> str:
    return f"{TELEGRAM_PREFIX}{chat_id}"


def chat_id_for(conversation_id: str) -> int:
    """``tg-<chat_id>`` → chat id; raises ValueError for other channels' conversations."""
    if not conversation_id.startswith(TELEGRAM_PREFIX):
        raise ValueError(f"{conversation_id!r} is not a Telegram conversation")
    return int(conversation_id.removeprefix(TELEGRAM_PREFIX))


class TelegramChannel:
    """The handlers of the bot and :meth:`deliver`, which renders messages for Telegram."""

    def __init__(self, *, bot: Bot, chat: ChatService, settings: GatewaySettings,
                 buttons: ButtonStore | None = None, limiter: RateLimiter | None = None) -> None:
        """``limiter`` is the gateway's (shared by replicas when in Redis); by default the
        limits of ``settings``, counted in this process."""
        self.bot = bot
        self.chat = chat
        self.limiter = limiter or make_limiter(settings, in_process=True)
        self.public_url = settings.public_url
        self.buttons = buttons or ButtonStore(settings.telegram_button_cache_size)
        self.retry = RetryPolicy(retries=settings.telegram_send_retries,
                                 backoff=settings.telegram_retry_backoff_seconds,
                                 max_retry_after=settings.telegram_max_retry_after_seconds)

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE  # a group chat is not one shopper with one cart
        application.add_handler(TypeHandler(Update, self.limit), group=-1)  # before the rest
        for name, callback in (("start", self.on_start), ("help", self.on_help),
                               ("human", self.on_human), ("cancel", self.on_cancel)):
            application.add_handler(CommandHandler(name, callback, filters=private))
        application.add_handler(MessageHandler(private & filters.COMMAND, self.on_unknown))
        application.add_handler(MessageHandler(private & filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(
            private & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_not_text))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_error_handler(self.on_error)

    # --- updates in

    async def limit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Count every update of a private chat (texts, commands, stickers, buttons) against
        the conversation's rate limit; one over it is dropped before any handler runs.

        The shopper hears the widget's notice once per burst (see
        :meth:`RateLimiter.first_refusal`), not once per dropped message.
        """
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        conversation_id = conversation_id_for(chat.id)
        try:
            await self.limiter.check(conversation_id=conversation_id, ip=None)
        except RateLimited as exc:
            tell = await self.limiter.first_refusal(conversation_id, exc)
            log.info("telegram update over the rate limit dropped (retry in %d s)",
                     exc.retry_after, extra={"conversation_id": conversation_id})
            if update.callback_query is not None:
                await self._answer(update.callback_query, None)  # stop the spinner
            if tell:
                await self.send_text(conversation_id, exc.message)
            raise ApplicationHandlerStop from None

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._turn(update, GREETING_REQUEST)  # the bot's own greeting comes back

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send_text(_conversation(update), HELP_TEXT)

    async def on_human(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The bot hears the intent and hands off; the gateway then queues the conversation
        # for the agent console. The transcript shows the shopper's words.
        await self._turn(update, HUMAN_REQUEST, payload=HUMAN_PAYLOAD)

    async def on_cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Sent as words, not as Rasa's "/restart": the forms will treat "cancel" as leaving
        # the form while keeping the cart and the rest of the conversation.
        await self._turn(update, CANCEL_REQUEST)

    async def on_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send_text(_conversation(update), UNKNOWN_COMMAND)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.effective_message.text if update.effective_message else None
        if not text:
            return
        if text.lstrip().startswith("/"):  # Rasa would take "/intent{...}" for an intent
            await self.on_unknown(update, context)
            return
        await self._turn(update, text)

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.send_text(_conversation(update), TEXT_ONLY)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        chat = update.effective_chat
        button = self.buttons.get(query.data or "")
        if chat is None or chat.type != ChatType.PRIVATE:
            await self._answer(query, None)
            return
        if button is None:
            await self._answer(query, EXPIRED_BUTTON)
            return
        await self._answer(query, None)
        await self._turn(update, button.title, payload=button.payload)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        conversation_id = (conversation_id_for(update.effective_chat.id)
                           if isinstance(update, Update) and update.effective_chat else None)
        log.error("telegram update failed", exc_info=context.error,
                  extra={"conversation_id": conversation_id})
        if conversation_id is not None:
            await self.send_text(conversation_id, SOMETHING_WENT_WRONG)

    async def _turn(self, update: Update, text: str, *, payload: str | None = None) -> None:
        conversation_id = _conversation(update)
        chat_id = chat_id_for(conversation_id)
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # only a courtesy
            log.debug("typing indicator failed: %s", exc,
                      extra={"conversation_id": conversation_id})
        request_id.set(new_request_id())  # the update's turn, in every log line
        try:
            answers = await self.chat.handle_turn(conversation_id, text, payload=payload)
        except ChatInputError as exc:  # e.g. too long: not forwarded, the shopper hears why
            await self.send_text(conversation_id, exc.message)
            return
        await self.deliver(conversation_id, answers)

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await self.retry.call("answerCallbackQuery", partial(query.answer, text=text))
        except TelegramError as exc:  # the spinner stops by itself; the turn goes on
            log.warning("answering a callback query failed: %s", exc)

    # --- messages out

    async def deliver(self, conversation_id: str, messages: Iterable[ChatMessage]) -> bool:
        """Send gateway messages to the Telegram chat of ``conversation_id``.

        Also the way to reach a Telegram shopper proactively (payment confirmed, parcel
        shipped); the caller records such messages in the history itself. Shopper
        messages are skipped. Returns False when some part could not be delivered (it
        was logged), for instance because the shopper blocked the bot.
        """
        delivered = True
        for message in messages:
            if message.role == "shopper":
                continue
            links = [message.link] if message.link else []
            text = message.text or ""
            if not text.strip() and (message.buttons or links):
                text = links[0].title if links else "Please choose:"
            if text.strip():
                delivered &= await self.send_text(conversation_id, text, message.buttons, links,
                                                  markdown=message.role == "bot")
            for card in message.cards:
                delivered &= await self._send_card(conversation_id, card)
        return delivered

    async def send_text(self, conversation_id: str, text: str, buttons: Sequence[Button] = (),
                        links: Sequence[Link] = (), *, markdown: bool = False) -> bool:
        """Send a text in parts of at most 4096 characters; the keyboard goes on the last.

        A bot's text (``markdown``) is the Markdown subset of the FAQ and the bot's replies,
        sent in Telegram's HTML parse mode (:mod:`channels.telegram.markdown`: escaped,
        balanced, cut between paragraphs); any other text goes as it is.
        """
        if markdown:
            return await self._send_parts(conversation_id, to_telegram_html(text), buttons,
                                          links, parse_mode=ParseMode.HTML)
        return await self._send_parts(conversation_id, split_text(text), buttons, links)

    async def _send_parts(self, conversation_id: str, parts: Sequence[str],
                          buttons: Sequence[Button], links: Sequence[Link], *,
                          parse_mode: str | None = None) -> bool:
        chat_id = chat_id_for(conversation_id)
        for number, part in enumerate(parts, start=1):
            markup = (keyboard(buttons, self.buttons, links=links, public_url=self.public_url)
                      if number == len(parts) else None)
            try:
                await self.retry.call("sendMessage", partial(
                    self.bot.send_message, chat_id=chat_id, text=part, reply_markup=markup,
                    parse_mode=parse_mode), conversation_id=conversation_id)
            except BadRequest as exc:
                if markup is None or not links:
                    log.error("telegram refused a message: %s", exc,
                              extra={"conversation_id": conversation_id})
                    return False
                # Telegram refuses some URL buttons (http://localhost in development):
                # the address goes into the text instead, so the link is never lost.
                log.warning("telegram refused a link button (%s); sending the address as text",
                            exc, extra={"conversation_id": conversation_id})
                lines = "\n".join(f"{link.title}: {absolute_url(link.url, self.public_url)}"
                                   for link in links)
                if parse_mode is None:
                    return await self._send_parts(conversation_id,
                                                  split_text(f"{part}\n\n{lines}"), buttons, ())
                addresses = html.escape(lines, quote=False)
                together = f"{part}\n\n{addresses}"
                return await self._send_parts(
                    conversation_id, [together] if telegram_length(together) <= MAX_TEXT
                    else [part, *split_text(addresses)], buttons, (), parse_mode=parse_mode)
            except TelegramError as exc:
                log.error("telegram message not delivered: %s", exc,
                          extra={"conversation_id": conversation_id})
                return False
        return True

    async def _send_card(self, conversation_id: str, card: Card) -> bool:
        """One photo per card; if Telegram cannot send the photo, the card goes as text."""
        caption = card_caption(card)
        parts = split_text(caption, MAX_CAPTION)
        links = [Link(title="View in the shop", url=card.url)] if card.url else []
        markup = keyboard(card.buttons, self.buttons, links=links, public_url=self.public_url)
        photo = photo_source(card.image_url, public_url=self.public_url)
        if photo is None:  # a picture Telegram cannot show: the card as text
            return await self.send_text(conversation_id, caption, card.buttons, links)
        try:
            await self.retry.call("sendPhoto", partial(
                self.bot.send_photo, chat_id=chat_id_for(conversation_id),
                photo=photo, caption=parts[0],
                reply_markup=markup if len(parts) == 1 else None),
                conversation_id=conversation_id)
        except TelegramError as exc:
            log.warning("photo of %s not sent (%s); sending the card as text", card.sku, exc,
                        extra={"conversation_id": conversation_id})
            return await self.send_text(conversation_id, caption, card.buttons, links)
        if len(parts) > 1:
            return await self.send_text(conversation_id, "\n".join(parts[1:]), card.buttons,
                                        links)
        return True


def _conversation(update: Update) -> str:
    if update.effective_chat is None:
        raise ValueError("an update without a chat cannot be answered")
    return conversation_id_for(update.effective_chat.id)
