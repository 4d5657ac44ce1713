"""Cross-checks tgcollector's Pyrogram import against Pyrogram itself, offline.

Pyrogram 2.0.106 is the specification of its session formats, so the Rust tests have it
write real sessions instead of trusting a hand-written copy of its rules. Every command
prints one JSON object on stdout: the values as Pyrogram itself reads them back; byte
strings are hex.

    file PATH DC_ID AUTH_KEY_HEX USER_ID [--bot] [--test-mode]
        write PATH (must end in .session) with Pyrogram's FileStorage, and cached peers
        derived by Pyrogram's own Client.fetch_peers
    string DC_ID AUTH_KEY_HEX USER_ID [--bot] [--test-mode]
        print Pyrogram's export_session_string() (the current format, with API_ID)
    string-old DC_ID AUTH_KEY_HEX USER_ID [--bot] [--test-mode]
    string-old-64 DC_ID AUTH_KEY_HEX USER_ID [--bot] [--test-mode]
        print the two formats Pyrogram wrote before it stored the API id, packed with
        struct exactly as its old code did; Pyrogram still reads both
"""

import argparse
import asyncio
import base64
import json
import struct
import time
import types
from pathlib import Path

from pyrogram import Client, raw
from pyrogram.storage import FileStorage, MemoryStorage, Storage

API_ID = 1234567

# The peers `file` caches. Pyrogram derives their rows (marked id, type, lower-cased
# username) itself, through Client.fetch_peers, as it does from any update.
CONTACT = raw.types.User(id=5550002, access_hash=1234567890123456789, username='BobTheBuilder',
                         phone='447700900123', first_name='Bob')
HELPER_BOT = raw.types.User(id=5550003, access_hash=-77, username='HelperBot', bot=True)
# A user Telegram sent without an access hash: Pyrogram stores a NULL hash.
HASHLESS = raw.types.User(id=5550004, first_name='Nohash')
GROUP = raw.types.Chat(id=4242, title='Small Group', photo=raw.types.ChatPhotoEmpty(),
                       participants_count=3, date=0, version=1)
CHANNEL = raw.types.Channel(id=1234567890, title='Tgc News', photo=raw.types.ChatPhotoEmpty(),
                            date=0, access_hash=-42424242424242, username='TgcNews',
                            broadcast=True)
SUPERGROUP = raw.types.Channel(id=1987654321, title='Tgc Chat', photo=raw.types.ChatPhotoEmpty(),
                               date=0, access_hash=987654321987, megagroup=True)
PEERS = [CONTACT, HELPER_BOT, HASHLESS, GROUP, CHANNEL, SUPERGROUP]


def input_peer_json(peer):
    if isinstance(peer, raw.types.InputPeerUser):
        return {'kind': 'user', 'id': peer.user_id, 'hash': peer.access_hash}
    if isinstance(peer, raw.types.InputPeerChat):
        return {'kind': 'chat', 'id': peer.chat_id, 'hash': 0}
    if isinstance(peer, raw.types.InputPeerChannel):
        return {'kind': 'channel', 'id': peer.channel_id, 'hash': peer.access_hash}
    return {'kind': type(peer).__name__}


async def session_json(storage):
    return {
        'dc_id': await storage.dc_id(), 'api_id': await storage.api_id(),
        'test_mode': bool(await storage.test_mode()),
        'auth_key': (await storage.auth_key()).hex(),
        'user_id': await storage.user_id(), 'is_bot': bool(await storage.is_bot()),
    }


async def fill(storage, args):
    await storage.dc_id(args.dc_id)
    await storage.api_id(API_ID)
    await storage.test_mode(args.test_mode)
    await storage.auth_key(bytes.fromhex(args.auth_key_hex))
    await storage.date(int(time.time()))
    await storage.user_id(args.user_id)
    await storage.is_bot(args.bot)


async def write_file(args):
    path = Path(args.path)
    if path.suffix != FileStorage.FILE_EXTENSION:
        raise SystemExit(f'{path}: Pyrogram only writes *{FileStorage.FILE_EXTENSION} files')
    storage = FileStorage(path.stem, path.parent)
    await storage.open()
    await fill(storage, args)
    # fetch_peers only needs `self.storage`: run Pyrogram's own row derivation unbound.
    await Client.fetch_peers(types.SimpleNamespace(storage=storage), PEERS)
    await storage.save()

    result = await session_json(storage)
    result['version'] = storage.version()
    rows = storage.conn.execute(
        'select id, access_hash, type, username, phone_number, last_update_on '
        'from peers order by id').fetchall()
    result['peers'] = [
        {'marked_id': marked, 'access_hash': access_hash, 'type': peer_type,
         'username': username, 'phone': phone, 'date': date,
         'input_peer': input_peer_json(await storage.get_peer_by_id(marked))}
        for marked, access_hash, peer_type, username, phone, date in rows]
    await storage.close()
    return result


async def read_string(string):
    storage = MemoryStorage('check', string)
    await storage.open()
    result = await session_json(storage)
    await storage.close()
    result['string'] = string
    return result


async def export_string(args):
    storage = MemoryStorage('export')
    await storage.open()
    await fill(storage, args)
    return await read_string(await storage.export_session_string())


def old_string(fmt):
    async def export(args):
        # What Pyrogram's export_session_string wrote before the API id was added.
        packed = struct.pack(fmt, args.dc_id, args.test_mode, bytes.fromhex(args.auth_key_hex),
                             args.user_id, args.bot)
        return await read_string(base64.urlsafe_b64encode(packed).decode().rstrip('='))
    return export


COMMANDS = {
    'file': write_file,
    'string': export_string,
    'string-old': old_string(Storage.OLD_SESSION_STRING_FORMAT),
    'string-old-64': old_string(Storage.OLD_SESSION_STRING_FORMAT_64),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest='command', required=True)
    for name in COMMANDS:
        command = commands.add_parser(name)
        if name == 'file':
            command.add_argument('path')
        command.add_argument('dc_id', type=int)
        command.add_argument('auth_key_hex')
        command.add_argument('user_id', type=int)
        command.add_argument('--bot', action='store_true')
        command.add_argument('--test-mode', action='store_true')
    return parser.parse_args()


if __name__ == '__main__':
    args = parse_args()
    print(json.dumps(asyncio.run(COMMANDS[args.command](args))))
