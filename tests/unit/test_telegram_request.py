"""bot/telegram/request.py against real HTTP servers: what PTB needs of a networking
backend (status and body back, network failures and time-outs as PTB's errors, uploads)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram.request import AiohttpRequest
from tests.e2e.conftest import free_port

Seen = list[dict[str, object]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    seen: Seen = []

    async def method(request: web.Request) -> web.Response:
        # As the Bot API reads them: a JSON document, or a form (uploads), its values text.
        if request.content_type == "application/json":
            seen.append(await request.json())
        else:
            form = await request.post()
            seen.append(
                {
                    name: value.filename if isinstance(value, web.FileField) else str(value)
                    for name, value in form.items()
                }
            )
        if request.match_info["name"] == "slow":
            await asyncio.sleep(2)
        if request.match_info["name"] == "forbidden":
            error = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
            return web.json_response(error, status=403)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/bot/{name}", method)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/bot", seen
    await runner.cleanup()


def _data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


@asynccontextmanager
async def started(**timeouts: float) -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(**timeouts)
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


async def test_answers_come_back_as_status_and_body_for_ptb_to_read(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    async with started() as request:
        status, body = await request.do_request(f"{url}/ok", "POST", _data(chat_id=7, text="hej"))
        assert (status, json.loads(body)) == (200, {"ok": True, "result": True})
        status, _ = await request.do_request(f"{url}/forbidden", "POST", _data(chat_id=7))
    assert status == 403  # PTB's BaseRequest turns this into Forbidden
    assert seen[0] == {"chat_id": 7, "text": "hej"}


async def test_a_call_without_files_is_one_json_document_with_its_objects_nested(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}]]}
    async with started() as request:
        await request.do_request(
            f"{url}/ok", "POST", _data(chat_id=7, text="æøå \U0001f600", reply_markup=markup)
        )
    assert seen == [{"chat_id": 7, "text": "æøå \U0001f600", "reply_markup": markup}]


async def test_an_upload_is_sent_as_multipart_with_its_other_fields(
    server: tuple[str, Seen],
) -> None:
    url, seen = server
    async with started() as request:
        document = InputFile(b"hello", filename="note.txt")
        await request.do_request(f"{url}/ok", "POST", _data(chat_id=7, document=document))
    assert seen == [{"chat_id": "7", "document": "note.txt"}]


async def test_a_slow_answer_is_a_time_out_and_no_server_a_network_error(
    server: tuple[str, Seen],
) -> None:
    url, _ = server
    async with started(read_timeout=0.2, write_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(f"{url}/slow", "POST", _data(chat_id=7))
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{free_port()}/bot/x", "POST")
