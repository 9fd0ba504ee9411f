"""Reading a request body without ever holding more of it than the endpoint accepts."""

from __future__ import annotations

from fastapi import Request


class BodyTooLargeError(Exception):
    """A request body longer than the endpoint accepts (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over {limit} bytes")
        self.limit = limit


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """The body of ``request``, refused as soon as it exceeds ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before anything is read; a body
    sent in chunks is counted as it arrives, so a giant body never reaches memory.

    Raises:
        BodyTooLargeError: the body is, or is declared to be, longer than ``limit``.
    """
    declared = request.headers.get("content-length")
    # ASCII digits only: ``str.isdigit`` passes "²", and ``int`` refuses over 4,300 digits
    if declared is not None and declared.isascii() and declared.isdigit():
        digits = declared.lstrip("0")
        if len(digits) > 18 or int(digits or "0") > limit:
            raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)
