"""The baseline: a python-telegram-bot bot that echoes every message, offers one button on
each reply, and answers button presses like snakkes does (answer the query, remove the
keyboard, reply). Polling, up to 32 updates at once, the same rate, as snakkes.

Two stacks (SNAKKES_BENCH_ECHO_STACK):
- `ptb` (default): the framework as it comes, PTB's own classes: httpx for HTTP,
  AIORateLimiter, updates side by side in any order.
- `snakkes`: the classes snakkes gives PTB (bot/telegram/): aiohttp for HTTP, the sliding
  window limiter, one person's updates in order. Beside it, snakkes's own cost shows alone.
"""

from __future__ import annotations

import asyncio
import os
import signal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram.limits import WindowRateLimiter
from bot.telegram.ordering import CONCURRENT_UPDATES, PerChatUpdateProcessor
from bot.telegram.request import AiohttpRequest

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text, reply_markup=KEYBOARD)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    await context.bot.send_message(query.message.chat.id, "pressed", reply_markup=KEYBOARD)


async def main() -> None:
    api = os.environ["SNAKKES_TELEGRAM_API_URL"].rstrip("/")
    rate = float(os.environ.get("SNAKKES_TELEGRAM_MAX_MESSAGES_PER_SECOND", "30"))
    builder = Application.builder().concurrent_updates(CONCURRENT_UPDATES)
    if os.environ.get("SNAKKES_BENCH_ECHO_STACK") == "snakkes":
        builder = (
            builder.request(AiohttpRequest(connection_pool_size=32))
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
            .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
            .rate_limiter(WindowRateLimiter(int(rate), max_retries=5))
        )
    else:
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=rate, max_retries=5))
    app = (
        builder.token(os.environ["SNAKKES_TELEGRAM_TOKEN"])
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES)
        await app.start()
        await stop.wait()
        await app.updater.stop()
        await app.stop()


if __name__ == "__main__":
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    asyncio.run(main())
