#!/usr/bin/env python3
"""An independent tgcollector client, written from the README's envelope section alone.

It shares no code with the Rust side: only the document. Rust tests run it to prove that the
document is enough to talk to the gateway (Python seals, Rust opens; Rust seals, Python opens),
and the gateway tests use `query` against a live server.

    envelope_client.py seal --key ID:B64 --method M [--params JSON] [--ts MS] [--id ID] [--nonce HEX]
        prints the sealed request as hex
    envelope_client.py open-reply --key ID:B64 --request HEX --reply HEX
        prints the reply's plaintext
    envelope_client.py query --url URL --key ID:B64 --method M [--params JSON]
                             [--ts-offset-ms N] [--flip-byte N] [--send N] [--expect-status S]
        POSTs a sealed request to URL/api/v1/M and prints the opened reply as pretty JSON

`query` exits 0 on HTTP 200 and prints the reply; on any other status it prints
`HTTP <status>: <detail>` on stderr and exits 1. With --expect-status S it exits 0 exactly when
the (last) status is S, so a test can assert a refusal. --flip-byte N flips one bit of byte N of
the sealed body before sending; --send N sends the same sealed body N times (replay);
--ts-offset-ms shifts the timestamp (staleness).

Needs only `cryptography` (AESGCM) and the standard library.
"""

import argparse
import base64
import binascii
import json
import os
import sys
import time
import urllib.error
import urllib.request

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
HEADER_LEN = 1 + 4 + 12
TAG_LEN = 16


class EnvelopeError(Exception):
    """A reply that is not a well-formed, authentic answer to our request."""


def parse_key(text):
    """`ID:BASE64` as in crypto.keys -> (key_id, 32-byte key)."""
    key_id, _, encoded = text.partition(":")
    if not encoded:
        raise ValueError("--key must be ID:BASE64, as printed by `tgcollector keygen`")
    key_id = int(key_id.strip())
    if not 0 <= key_id <= 0xFFFFFFFF:
        raise ValueError("key id must be between 0 and 4294967295")
    key = base64.b64decode(encoded.strip(), validate=True)
    if len(key) != 32:
        raise ValueError(f"the key decodes to {len(key)} bytes; expected 32")
    return key_id, key


def prefix(key_id):
    """version | key_id (big-endian u32): the first 5 bytes of envelopes and AADs."""
    return bytes([VERSION]) + key_id.to_bytes(4, "big")


def route_of(method):
    return f"POST /api/v1/{method}"


def seal_request(key_id, key, method, params, ts=None, request_id=None, nonce=None):
    """Returns (sealed bytes, request nonce)."""
    plaintext = json.dumps(
        {
            "ts": int(time.time() * 1000) if ts is None else ts,
            "id": os.urandom(16).hex() if request_id is None else request_id,
            "params": params,
        },
        separators=(",", ":"),
    ).encode("utf-8")
    nonce = os.urandom(12) if nonce is None else nonce
    aad = prefix(key_id) + route_of(method).encode("ascii")
    return prefix(key_id) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad), nonce


def open_reply(key_id, key, request_nonce, reply):
    """The plaintext of `reply`, which must answer the request sealed with `request_nonce`."""
    if len(reply) < HEADER_LEN + TAG_LEN:
        raise EnvelopeError(f"reply is {len(reply)} bytes; an envelope is at least 33")
    if reply[0] != VERSION:
        raise EnvelopeError(f"reply version is {reply[0]}; expected 1")
    if reply[1:5] != key_id.to_bytes(4, "big"):
        got = int.from_bytes(reply[1:5], "big")
        raise EnvelopeError(f"reply sealed with key id {got}; the request used {key_id}")
    aad = prefix(key_id) + request_nonce
    try:
        return AESGCM(key).decrypt(reply[5:17], reply[17:], aad)
    except InvalidTag:
        raise EnvelopeError("reply is not authentic (tag check failed)") from None


def post(url, body, timeout):
    """(status, content type, body) of a POST; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/octet-stream"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def query(args):
    key_id, key = parse_key(args.key)
    params = json.loads(args.params)
    ts = int(time.time() * 1000) + args.ts_offset_ms
    sealed, nonce = seal_request(key_id, key, args.method, params, ts=ts)
    if args.flip_byte is not None:
        if not 0 <= args.flip_byte < len(sealed):
            raise ValueError(f"--flip-byte must be below the envelope length {len(sealed)}")
        sealed = bytearray(sealed)
        sealed[args.flip_byte] ^= 0x01
        sealed = bytes(sealed)
    url = args.url.rstrip("/") + "/api/v1/" + args.method
    for _ in range(max(args.send, 1)):
        status, content_type, body = post(url, sealed, args.timeout)

    detail = None
    if content_type.startswith("application/octet-stream") and body:
        detail = json.loads(open_reply(key_id, key, nonce, body))
    if status == 200 and detail is not None:
        print(json.dumps(detail, indent=2, ensure_ascii=False))
    else:
        if detail is not None:
            text = json.dumps(detail, ensure_ascii=False)
        elif body:
            text = body.decode("utf-8", "replace").strip()
        else:
            text = "(no detail)"
        print(f"HTTP {status}: {text}", file=sys.stderr)
    if args.expect_status is not None:
        return 0 if status == args.expect_status else 1
    return 0 if status == 200 and detail is not None else 1


def seal_command(args):
    key_id, key = parse_key(args.key)
    nonce = bytes.fromhex(args.nonce) if args.nonce else None
    if nonce is not None and len(nonce) != 12:
        raise ValueError("--nonce must be 12 bytes of hex")
    sealed, _ = seal_request(
        key_id, key, args.method, json.loads(args.params), ts=args.ts, request_id=args.id, nonce=nonce
    )
    print(sealed.hex())
    return 0


def open_reply_command(args):
    key_id, key = parse_key(args.key)
    request = bytes.fromhex(args.request)
    if len(request) < HEADER_LEN + TAG_LEN:
        raise ValueError("--request is not a sealed request")
    if request[1:5] != key_id.to_bytes(4, "big"):
        raise ValueError("--request was not sealed with --key")
    plaintext = open_reply(key_id, key, request[5:17], bytes.fromhex(args.reply))
    sys.stdout.write(plaintext.decode("utf-8"))
    sys.stdout.write("\n")
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    seal = commands.add_parser("seal", help="print a sealed request as hex")
    seal.add_argument("--key", required=True, help="ID:BASE64")
    seal.add_argument("--method", required=True)
    seal.add_argument("--params", default="{}", help="a JSON object")
    seal.add_argument("--ts", type=int, help="unix ms (default: now)")
    seal.add_argument("--id", help="request id (default: 16 random bytes as hex)")
    seal.add_argument("--nonce", help="12 bytes as hex (default: random; for test vectors only)")
    seal.set_defaults(run=seal_command)

    opener = commands.add_parser("open-reply", help="print the plaintext of a sealed reply")
    opener.add_argument("--key", required=True, help="ID:BASE64")
    opener.add_argument("--request", required=True, help="the sealed request, hex")
    opener.add_argument("--reply", required=True, help="the sealed reply, hex")
    opener.set_defaults(run=open_reply_command)

    q = commands.add_parser("query", help="send a sealed request and print the opened reply")
    q.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8080")
    q.add_argument("--key", required=True, help="ID:BASE64")
    q.add_argument("--method", required=True)
    q.add_argument("--params", default="{}", help="a JSON object")
    q.add_argument("--ts-offset-ms", type=int, default=0, help="shift the timestamp")
    q.add_argument("--flip-byte", type=int, help="flip one bit of this byte of the body")
    q.add_argument("--send", type=int, default=1, help="send the same body this many times")
    q.add_argument("--expect-status", type=int, help="exit 0 exactly when the last status is this")
    q.add_argument("--timeout", type=float, default=30.0, help="seconds")
    q.set_defaults(run=query)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, EnvelopeError, binascii.Error, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
