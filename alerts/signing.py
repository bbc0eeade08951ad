"""Standard Webhooks signatures (https://www.standardwebhooks.com), sender and receiver side.

A receiver proves a webhook came from us, unaltered and recently: ``webhook-signature`` is
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` under each secret. During a secret
rotation every configured secret signs, giving space-separated signatures, so receivers on
either secret accept. ``webhook-id`` stays the same across retries: it is the receiver's
idempotency key. The timestamp bounds replays: :func:`verify` refuses stale ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

from alerts.config import secret_key
from alerts.errors import MalformedSignature, SignatureMismatch, StaleTimestamp

DEFAULT_TOLERANCE_S = 300
# Checked before any arithmetic: int() of a 400-digit string then a float subtraction would
# raise OverflowError; 20 digits hold any real Unix time with room to spare.
_TIMESTAMP = re.compile(r"[0-9]{1,20}")


def generate_secret(nbytes: int = 32) -> str:
    """A fresh ``whsec_<base64>`` secret for a new endpoint or a rotation."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    return _sign_with_key(secret_key(secret), msg_id, timestamp, body)


def _sign_with_key(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def webhook_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers (no signature header when there is no secret)."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secrets:
        headers["webhook-signature"] = signature_header(secrets, msg_id, timestamp, body)
    return headers


def verify(
    secrets: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> str:
    """Check a received webhook; return its ``webhook-id`` or raise a `SignatureError`.

    Whatever the headers and body hold, the only error raised is a `SignatureError`
    (a malformed secret of the receiver's own is a `ValueError`, found first).

    ``headers`` lookups are case-insensitive when given an httpx/Starlette header mapping;
    a plain dict must use lower-case names.
    """
    # The receiver's own secrets: a bad one is a configuration error (ValueError), found
    # before anything of the request is looked at.
    keys = [secret_key(s) for s in ([secrets] if isinstance(secrets, str) else secrets)]
    msg_id = headers.get("webhook-id")
    raw_ts = headers.get("webhook-timestamp")
    raw_sigs = headers.get("webhook-signature")
    if not msg_id or not raw_ts or not raw_sigs:
        raise MalformedSignature(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    if not isinstance(raw_ts, str) or not _TIMESTAMP.fullmatch(raw_ts):
        shown = raw_ts[:40] + "…" if isinstance(raw_ts, str) and len(raw_ts) > 40 else raw_ts
        raise MalformedSignature(
            f"webhook-timestamp {shown!r} is not integer seconds (1 to 20 ASCII digits)"
        )
    if not isinstance(msg_id, str) or not isinstance(raw_sigs, str):
        raise MalformedSignature("webhook-id and webhook-signature must be text")
    timestamp = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise StaleTimestamp(
            f"webhook-timestamp {timestamp} is {current - timestamp:.0f} s from now;"
            f" at most {tolerance_s:.0f} s allowed"
        )
    # Unknown versions (e.g. an asymmetric v1a) are skipped, as the standard asks.
    offered = [part for part in raw_sigs.split(" ") if part.startswith("v1,")]
    if not offered:
        raise MalformedSignature("webhook-signature holds no v1,<base64> entry")
    try:
        expected = [_sign_with_key(key, msg_id, timestamp, bytes(body)) for key in keys]
        candidates = [c.encode("utf-8") for c in offered]
    except (UnicodeEncodeError, TypeError, ValueError):
        raise MalformedSignature("webhook-id or webhook-signature is not valid text") from None
    for candidate in candidates:
        for good in expected:
            if hmac.compare_digest(candidate, good.encode()):
                return msg_id
    raise SignatureMismatch(f"no signature of webhook {msg_id} matches a known secret")
