"""The HTTP checks made before a request is parsed: the bearer token and the body size.

Both raise `RequestError` (401 and 413), which the controller answers as one JSON line.
The token is compared in constant time; the body is read in chunks and refused as soon as
it passes the limit, so an oversized upload is never held in memory whole.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator

from marlax.serve.schema import RequestError


def check_token(authorization: str | None, token: str | None) -> None:
    """Refuse (401) a request without `Authorization: Bearer <token>` when a token is set."""
    if token is None:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise RequestError(401, "authorization", "a valid 'Authorization: Bearer <token>' header")


def check_declared_size(content_length: str | None, max_bytes: int) -> None:
    """Refuse (413) a request whose Content-Length already passes the limit."""
    if content_length is not None and content_length.isdigit() and int(content_length) > max_bytes:
        raise RequestError(413, "body", f"{content_length} bytes; the limit is {max_bytes}")


async def read_limited(chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """The body from its chunks, refused (413) once it passes `max_bytes`."""
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > max_bytes:
            raise RequestError(413, "body", f"more than {max_bytes} bytes")
    return bytes(body)
