"""Reply bodies in the real server's envelopes (NestJS for most routes, a leaner one for solutions)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, JSONResponse, Response

from scavenger.sim import texts
from scavenger.sim.faults import FaultRule, retry_after_header

REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def nest_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """NestJS envelope used by register, donate_to, TandC and statistics."""
    return JSONResponse(
        {"message": message, "error": REASONS.get(status, "Error"), "statusCode": status},
        status_code=status,
        headers=headers,
    )


def solution_error(status: int, message: str) -> JSONResponse:
    """Solution errors were observed without the "error" key."""
    return JSONResponse({"statusCode": status, "message": message}, status_code=status)


def fault_response(rule: FaultRule) -> Response:
    headers = {} if rule.retry_after is None else {"Retry-After": retry_after_header(rule.retry_after)}
    if rule.kind == "html":
        return HTMLResponse(texts.BOT_PAGE, status_code=rule.status, headers=headers)
    status = int(rule.kind)
    if status == 429:
        return JSONResponse(
            {"message": texts.RATE_LIMITED, "statusCode": 429}, status_code=429, headers=headers
        )
    if status == 500:
        return JSONResponse(
            {"statusCode": 500, "message": "Internal server error"}, status_code=500, headers=headers
        )
    return nest_error(status, REASONS.get(status, "Error"), headers)
