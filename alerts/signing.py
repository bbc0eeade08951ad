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
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

from alerts.config import secret_key
from alerts.errors import MalformedSignature, SignatureMismatch, StaleTimestamp

DEFAULT_TOLERANCE_S = 300


def generate_secret(nbytes: int = 32) -> str:
    """A fresh ``whsec_<base64>`` secret for a new endpoint or a rotation."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
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

    ``headers`` lookups are case-insensitive when given an httpx/Starlette header mapping;
    a plain dict must use lower-case names.
    """
    wanted = [secrets] if isinstance(secrets, str) else list(secrets)
    msg_id = headers.get("webhook-id")
    raw_ts = headers.get("webhook-timestamp")
    raw_sigs = headers.get("webhook-signature")
    if not msg_id or not raw_ts or not raw_sigs:
        raise MalformedSignature(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise MalformedSignature(f"webhook-timestamp {raw_ts!r} is not integer seconds") from None
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
    expected = [sign(secret, msg_id, timestamp, body) for secret in wanted]
    for candidate in offered:
        for good in expected:
            if hmac.compare_digest(candidate.encode(), good.encode()):
                return msg_id
    raise SignatureMismatch(f"no signature of webhook {msg_id} matches a known secret")
