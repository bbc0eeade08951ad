"""`Idempotency-Key` on POST: a retried request gets the first response, not a second effect.

Keys are scoped to the authenticated user and kept for `ttl_hours`. For a POST carrying the
header:

- first time: the key is recorded as in progress, the request runs, and its response (any
  status below 500) is committed before a byte of it is sent, so a client retrying right
  after a success always gets the stored response; a 5xx or a crash forgets the key so the
  client can retry;
- same key, same request (method, path, query and body; JSON compared after normalising key
  order and whitespace): the stored response is replayed with ``Idempotency-Replayed: true``;
- same key, different request: 409 ``idempotency_key_reused``;
- same key while the first request still runs: 409 ``idempotency_key_in_progress``
  (an in-progress record older than ten minutes counts as abandoned).

Requests without a valid token pass straight through (the route answers 401; nothing stored).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import token_user
from api.errors import error_response
from millwright.core.storage.database import Database
from millwright.core.users import UserStore

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII: UUIDs, ULIDs, MES order ids
_KEY = re.compile(KEY_PATTERN)
_ABANDONED_S = 600
_PURGE_EVERY = 500


class Idempotency:
    def __init__(self, app: ASGIApp, database: Database, ttl_hours: float) -> None:
        self.app = app
        self.database = database
        self.users = UserStore(database)
        self.ttl_s = ttl_hours * 3600
        self._seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers") or []}
        raw_key = headers.get(HEADER.lower())
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            detail = {
                "loc": f"header.{HEADER}",
                "message": "expected 1 to 255 visible ASCII characters (e.g. a UUID)",
                "type": "value_error",
            }
            refusal = error_response(
                422, "validation_error", f"header.{HEADER}: {detail['message']}", [detail]
            )
            await refusal(scope, receive, send)
            return
        body, receive = await _read_body(receive)
        authorization = headers.get("authorization", b"").decode("latin-1")
        user = await run_in_threadpool(token_user, self.users, authorization)
        if user is None:
            await self.app(scope, receive, send)
            return
        fingerprint = _fingerprint(scope, body)
        found = await run_in_threadpool(self._begin, user.id, key, fingerprint)
        if found is None:
            await self._run_and_store(scope, receive, send, user.id, key)
            return
        stored_hash, status, content_type, stored_body = found
        response: Response
        if stored_hash != fingerprint:
            response = error_response(
                409,
                "idempotency_key_reused",
                f"{HEADER} {key!r} was already used for a different request",
            )
        elif status is None:
            response = error_response(
                409,
                "idempotency_key_in_progress",
                f"the request with {HEADER} {key!r} is still being processed; retry shortly",
                headers={"Retry-After": "1"},
            )
        else:
            response = Response(
                bytes(stored_body or b""),
                status_code=status,
                media_type=content_type,
                headers={"Idempotency-Replayed": "true"},
            )
        await response(scope, receive, send)

    async def _run_and_store(
        self, scope: Scope, receive: Receive, send: Send, user_id: int, key: str
    ) -> None:
        """Run the request with its response held back, store it, and only then send it:
        a client that has the response can never find the key still in progress."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await run_in_threadpool(self._forget, user_id, key)
            raise
        status = int(start.get("status", 500))
        body = b"".join(chunks)
        if status >= 500:
            await run_in_threadpool(self._forget, user_id, key)
        else:
            content_type = next(
                (
                    v.decode("latin-1")
                    for k, v in start.get("headers", [])
                    if k.lower() == b"content-type"
                ),
                None,
            )
            try:
                await run_in_threadpool(self._finish, user_id, key, status, content_type, body)
            except BaseException:
                await run_in_threadpool(self._forget, user_id, key)
                raise
        if not start:
            return
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _begin(
        self, user_id: int, key: str, fingerprint: bytes
    ) -> tuple[bytes, int | None, str | None, bytes | None] | None:
        """Record the key as in progress (None) or return what is stored under it."""
        self._seen += 1
        with self.database.connection() as conn:
            if self._seen % _PURGE_EVERY == 1:
                purge(conn, self.ttl_s)
            conn.execute(
                "DELETE FROM api_idempotency_keys WHERE user_id = %s AND key = %s"
                " AND (created_at < now() - make_interval(secs => %s)"
                "  OR (status_code IS NULL AND created_at < now() - make_interval(secs => %s)))",
                (user_id, key, self.ttl_s, _ABANDONED_S),
            )
            inserted = conn.execute(
                "INSERT INTO api_idempotency_keys (user_id, key, request_hash) VALUES (%s, %s, %s)"
                " ON CONFLICT (user_id, key) DO NOTHING RETURNING 1",
                (user_id, key, fingerprint),
            ).fetchone()
            if inserted:
                return None
            row = conn.execute(
                "SELECT request_hash, status_code, content_type, response_body"
                " FROM api_idempotency_keys WHERE user_id = %s AND key = %s",
                (user_id, key),
            ).fetchone()
        assert row is not None
        return bytes(row[0]), row[1], row[2], row[3]

    def _finish(
        self, user_id: int, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        self.database.execute(
            "UPDATE api_idempotency_keys SET status_code = %s, content_type = %s,"
            " response_body = %s, completed_at = now() WHERE user_id = %s AND key = %s",
            (status, content_type, body, user_id, key),
        )

    def _forget(self, user_id: int, key: str) -> None:
        self.database.execute(
            "DELETE FROM api_idempotency_keys WHERE user_id = %s AND key = %s"
            " AND status_code IS NULL",
            (user_id, key),
        )


def purge(conn: Any, ttl_s: float) -> None:
    """Drop keys older than the retention period."""
    conn.execute(
        "DELETE FROM api_idempotency_keys WHERE created_at < now() - make_interval(secs => %s)",
        (ttl_s,),
    )


def _fingerprint(scope: Scope, body: bytes) -> bytes:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): compare bytes
        canonical = body
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(canonical)
    return digest.digest()


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (already bounded by BodyLimit) and a receive that replays it."""
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    return bytes(body), replay
