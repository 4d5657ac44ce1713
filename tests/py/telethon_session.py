"""Cross-checks tgcollector's session files against Telethon itself, offline.

Telethon is the specification of the session layout, so the Rust tests ask it directly
instead of trusting a hand-written copy of its rules. Every command prints one JSON
object on stdout; byte strings are hex.

    create PATH                 write a session with Telethon's SQLiteSession
    create-offline PATH DC IP PORT KEYHEX
                                write only a DC and its key, as a file saved offline (or by a
                                Telethon older than 1.25) looks: no self row, no entities
    read PATH                   read a session back through Telethon's own API
    string-encode DC IP PORT KEYHEX   print Telethon's StringSession for these values
    string-decode STRING        decode a StringSession with Telethon
"""

import datetime
import json
import sys

from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl import types

# What `create` writes. The Rust test receives it as JSON and compares field by field.
SELF_ID = 5550001
SELF_HASH = -8761234567890123456
CONTACT_ID = 5550002
CONTACT_HASH = 1234567890123456789
CHAT_ID = 4242
CHANNEL_ID = 1234567890
CHANNEL_HASH = -42424242424242
COMMON_STATE = dict(pts=100, qts=5, seq=7,
                    date=datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc))
CHANNEL_PTS = 555


def create(path):
    session = SQLiteSession(path)
    key = bytes((i * 7 + 3) % 256 for i in range(256))
    session.set_dc(2, '149.154.167.51', 443)
    session.auth_key = AuthKey(key)

    me = types.User(id=SELF_ID, access_hash=SELF_HASH, first_name='Ann', last_name='Lee',
                    username='Ann_Lee', phone='15551234567', is_self=True)
    contact = types.User(id=CONTACT_ID, access_hash=CONTACT_HASH, first_name='Bob',
                         username='BobTheBuilder', phone='447700900123')
    chat = types.Chat(id=CHAT_ID, title='Small Group', photo=types.ChatPhotoEmpty(),
                      participants_count=3, date=None, version=1)
    channel = types.Channel(id=CHANNEL_ID, title='Tgc News', photo=types.ChatPhotoEmpty(),
                            date=None, access_hash=CHANNEL_HASH, username='TgcNews',
                            broadcast=True)
    session.process_entities([me, contact, chat, channel])
    # Telethon's own convention for the self id (`_save_states_and_entities`).
    session.process_entities(types.contacts.ResolvedPeer(
        None, [types.InputPeerUser(0, SELF_ID)], []))

    session.set_update_state(0, types.updates.State(unread_count=0, **COMMON_STATE))
    session.set_update_state(CHANNEL_ID, types.updates.State(
        pts=CHANNEL_PTS, qts=0, date=datetime.datetime.now(), seq=0, unread_count=0))
    session.save()
    session.close()

    return {
        'dc_id': 2, 'server_address': '149.154.167.51', 'port': 443, 'auth_key': key.hex(),
        'self_id': SELF_ID,
        'entities': [
            {'marked_id': SELF_ID, 'hash': SELF_HASH, 'username': 'ann_lee',
             'phone': '15551234567', 'name': 'Ann Lee'},
            {'marked_id': CONTACT_ID, 'hash': CONTACT_HASH, 'username': 'bobthebuilder',
             'phone': '447700900123', 'name': 'Bob'},
            {'marked_id': -CHAT_ID, 'hash': 0, 'username': None, 'phone': None,
             'name': 'Small Group'},
            {'marked_id': -(1000000000000 + CHANNEL_ID), 'hash': CHANNEL_HASH,
             'username': 'tgcnews', 'phone': None, 'name': 'Tgc News'},
        ],
        'state': {'pts': COMMON_STATE['pts'], 'qts': COMMON_STATE['qts'],
                  'seq': COMMON_STATE['seq'], 'date': int(COMMON_STATE['date'].timestamp())},
        'channels': [{'id': CHANNEL_ID, 'pts': CHANNEL_PTS}],
    }


def input_peer_json(peer):
    if isinstance(peer, types.InputPeerUser):
        return {'kind': 'user', 'id': peer.user_id, 'hash': peer.access_hash}
    if isinstance(peer, types.InputPeerChat):
        return {'kind': 'chat', 'id': peer.chat_id, 'hash': 0}
    if isinstance(peer, types.InputPeerChannel):
        return {'kind': 'channel', 'id': peer.channel_id, 'hash': peer.access_hash}
    return {'kind': type(peer).__name__}


def read(path):
    session = SQLiteSession(path)
    version = session._execute('select version from version')[0]
    rows = session._cursor().execute(
        'select id, username from entities where id != 0 order by id').fetchall()
    entities = {str(marked): input_peer_json(session.get_input_entity(marked))
                for marked, _ in rows}
    usernames = {username: input_peer_json(session.get_input_entity(username))
                 for _, username in rows if username}
    try:
        self_id = session.get_input_entity(0).access_hash
    except ValueError:
        self_id = None
    states = {str(entity_id): {'pts': state.pts, 'qts': state.qts, 'seq': state.seq,
                               'date': int(state.date.timestamp())}
              for entity_id, state in session.get_update_states()}
    result = {
        'version': version,
        'dc_id': session.dc_id, 'server_address': session.server_address,
        'port': session.port,
        'auth_key': session.auth_key.key.hex() if session.auth_key else None,
        'self_id': self_id, 'entities': entities, 'usernames': usernames,
        'update_states': states,
    }
    session.close()
    return result


def create_offline(path, dc_id, ip, port, key_hex):
    session = SQLiteSession(path)
    session.set_dc(int(dc_id), ip, int(port))
    session.auth_key = AuthKey(bytes.fromhex(key_hex))
    session.save()
    session.close()
    return {'path': path}


def string_encode(dc_id, ip, port, key_hex):
    session = StringSession()
    session.set_dc(int(dc_id), ip, int(port))
    session.auth_key = AuthKey(bytes.fromhex(key_hex))
    return {'string': session.save()}


def string_decode(string):
    session = StringSession(string)
    return {'dc_id': session.dc_id, 'server_address': session.server_address,
            'port': session.port, 'auth_key': session.auth_key.key.hex()}


COMMANDS = {'create': create, 'create-offline': create_offline, 'read': read, 'string-encode': string_encode,
            'string-decode': string_decode}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
