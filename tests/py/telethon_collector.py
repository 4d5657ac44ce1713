"""The original collector's way of reading a channel, for the side-by-side benchmark
(benches/versus_telethon.rs): Telethon's iter_messages, each message's to_dict(), each page
json.dumps'd and sealed with AES-GCM, as a Python collector that serves other services does.

Usage: telethon_collector.py CONFIG_JSON, where CONFIG_JSON holds
    session   a Telethon StringSession for an account of the simulator
    channel   the channel username to read whole
    page      messages per sealed page

Prints one JSON object on stdout: {"messages": N, "pages": P, "cpu_seconds": S,
"wall_seconds": W, "aes": "<Telethon's AES-IGE backend>"}, where S is this process's CPU
time (user and system) spent reading, converting and sealing. Any failure prints
{"error": "..."} and exits 1.
"""

import asyncio
import json
import os
import sys
import time
import traceback

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from telethon import TelegramClient
from telethon.crypto import aes as telethon_aes
from telethon.sessions import StringSession


def aes_backend():
    """Which AES-IGE Telethon uses: cryptg, OpenSSL through ctypes, or pure Python."""
    if getattr(telethon_aes, "cryptg", None):
        return "cryptg"
    if getattr(telethon_aes, "libssl", None) and telethon_aes.libssl.encrypt_ige:
        return "libssl"
    return "pyaes"


async def main(config):
    client = TelegramClient(StringSession(config["session"]), api_id=1, api_hash="telesim",
                            receive_updates=False)
    await client.connect()
    try:
        channel = await client.get_entity(config["channel"])
        sealer = AESGCM(os.urandom(32))
        page_size = config["page"]
        page, messages, pages = [], 0, 0

        def seal(page):
            body = json.dumps(page, default=str).encode()
            return sealer.encrypt(os.urandom(12), body, None)

        cpu_start, wall_start = time.process_time(), time.monotonic()
        # wait_time=0: Telethon otherwise sleeps a second between requests past 3,000
        # messages; sleeping costs no CPU, but the run would take minutes.
        async for message in client.iter_messages(channel, limit=None, wait_time=0):
            page.append(message.to_dict())
            if len(page) == page_size:
                seal(page)
                messages, pages, page = messages + len(page), pages + 1, []
        if page:
            seal(page)
            messages, pages = messages + len(page), pages + 1
        print(json.dumps({
            "messages": messages,
            "pages": pages,
            "cpu_seconds": time.process_time() - cpu_start,
            "wall_seconds": time.monotonic() - wall_start,
            "aes": aes_backend(),
        }), flush=True)
    finally:
        await client.disconnect()


if __name__ == "__main__":
    try:
        asyncio.run(main(json.loads(sys.argv[1])))
    except Exception as exc:  # one parseable line for the bench
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}",
                          "trace": traceback.format_exc()}), flush=True)
        sys.exit(1)
