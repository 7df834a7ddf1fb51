"""A link's credential, as docs/architecture.md lays it out: `c` is 44 characters, base64url (no
padding) of 33 bytes, request id (16) ‖ approver slot (1) ‖ secret (16). Each approver has two,
one per action (CONTRACT.md "Per-action credentials"): their Approve link's and their Reject
link's share the request id and the slot and differ in the secret, and each votes only its own
action. The tests take links apart with this, to find the request's record and to make altered
copies."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse

CREDENTIAL_CHARS = 44
PARTS = {"request": slice(0, 16), "slot": slice(16, 17), "secret": slice(17, 33)}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_params(url: str) -> dict[str, str]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    return {key: values[0] for key, values in query.items()}


def with_params(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    params = {**link_params(url), **changes}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params)))


def credential_of(url: str) -> str:
    return link_params(url)["c"]


def request_id_of(credential: str) -> str:
    """The record's key: base64url of the credential's first 16 bytes (22 characters)."""
    return b64url(unb64url(credential)[PARTS["request"]])


def slot_of(credential: str) -> int:
    return unb64url(credential)[16]


def secret_of(credential: str) -> bytes:
    return unb64url(credential)[PARTS["secret"]]


def holder_of(credential: str) -> tuple[str, int]:
    """Whose vote a credential is for: (request id, slot). An approver's two credentials, one per
    action, have the same holder."""
    return request_id_of(credential), slot_of(credential)


def altered(credential: str, part: str) -> str:
    """The credential with one byte of `part` (request, slot or secret) changed: still 44
    well-formed characters, differing from the original in one or two of them."""
    raw = bytearray(unb64url(credential))
    index = PARTS[part].start
    raw[index] ^= 0x01 if part != "slot" else 0x07
    changed = b64url(bytes(raw))
    assert len(changed) == CREDENTIAL_CHARS and changed != credential
    return changed


def compose(request_id: str, slot: int, secret: bytes) -> str:
    return b64url(unb64url(request_id) + bytes([slot]) + secret)


def hash_forms(credential: str) -> list[object]:
    """Every way a record might keep the SHA-256 of a credential's secret (the events test finds
    out which one send-email uses by matching a real record, then plants a record in that form)."""
    secret = secret_of(credential)
    digests = [hashlib.sha256(m).digest()
               for m in (secret, b64url(secret).encode(), unb64url(credential), credential.encode())]
    forms: list[object] = []
    for digest in digests:
        forms += [digest, digest.hex(), b64url(digest), base64.b64encode(digest).decode()]
    return forms
