"""Responses other than an answer: errors in AiMo's forms, rejections, a cut-off body."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from starlette.responses import Response, StreamingResponse

from aimo_magic.emulator.errors import BodyForm, render_error
from aimo_magic.emulator.faults import FaultSpec
from aimo_magic.emulator.sse import dumps
from aimo_magic.emulator.stream import DeliberateDisconnect


def error_response(
    status: int,
    message: str | None = None,
    error_type: str | None = None,
    form: BodyForm = "aimo",
    headers: dict[str, str] | None = None,
) -> Response:
    body, media_type = render_error(status, message, error_type, form)
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def fault_status_response(fault: FaultSpec) -> Response:
    assert fault.status is not None
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.retry_after_date is not None:
        when = time.time() + fault.retry_after_date
        headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
    return error_response(fault.status, fault.message, fault.type, fault.body, headers)


def reject_stream_options(status: int) -> Response:
    if status == 422:
        detail = [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": None,
            }
        ]
        return Response(dumps({"detail": detail}), 422, media_type="application/json")
    return error_response(
        400, "Unrecognized request argument supplied: stream_options", "invalid_request_error"
    )


def truncated(body: bytes) -> StreamingResponse:
    """Headers promising the whole body, half of it, then a dropped connection."""

    async def half() -> Any:
        yield body[: len(body) // 2]
        raise DeliberateDisconnect

    return StreamingResponse(
        half(), media_type="application/json", headers={"content-length": str(len(body))}
    )
