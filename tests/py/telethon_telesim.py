"""Drives Telethon against a running telesim: proof that telesim speaks MTProto, not grammers' habits.

Usage: telethon_telesim.py CONFIG_JSON, where CONFIG_JSON holds
    session        a Telethon StringSession for an account of the simulator
    channel        a public channel username to resolve and read
    media_message  the id of a message in that channel whose media to download

Prints one JSON object per line on stdout:
    {"ready": ...}   after get_me, get_entity, iter_messages and download_media, once the
                     NewMessage handler is listening: the driver then posts a message;
    {"event": ...}   the NewMessage event that arrived, then exits 0.
Any failure prints {"error": "..."} and exits 1.
"""

import asyncio
import hashlib
import json
import sys
import traceback

from telethon import TelegramClient, events
from telethon.sessions import StringSession

# How long to wait for the driver's live message before giving up (a guard, not a measurement).
EVENT_GUARD_SECONDS = 60


def emit(obj):
    print(json.dumps(obj), flush=True)


async def main(config):
    client = TelegramClient(StringSession(config["session"]), api_id=1, api_hash="telesim",
                            receive_updates=True)
    await client.connect()
    try:
        if not await client.is_user_authorized():
            raise RuntimeError("the session is not authorized")
        me = await client.get_me()
        channel = await client.get_entity(config["channel"])
        messages = [m async for m in client.iter_messages(channel, limit=None)]
        media_message = next(m for m in messages if m.id == config["media_message"])
        data = await client.download_media(media_message, file=bytes)

        got_event = asyncio.get_running_loop().create_future()

        @client.on(events.NewMessage(chats=channel))
        async def on_new_message(event):
            if not got_event.done():
                got_event.set_result(event)

        # Make sure Telethon has its update state before the driver posts.
        await client.catch_up()
        emit({
            "ready": {
                "me": {"id": me.id, "first_name": me.first_name, "username": me.username},
                "channel": {"id": channel.id, "title": channel.title, "username": channel.username},
                "message_ids": [m.id for m in messages],
                "texts": {str(m.id): m.message for m in messages if m.message},
                "media": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()},
            }
        })
        event = await asyncio.wait_for(got_event, EVENT_GUARD_SECONDS)
        emit({"event": {"id": event.message.id, "text": event.message.message,
                        "chat_id": event.chat_id}})
    finally:
        await client.disconnect()


if __name__ == "__main__":
    try:
        asyncio.run(main(json.loads(sys.argv[1])))
    except Exception as exc:  # report every failure to the driver in one parseable line
        emit({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
        sys.exit(1)
