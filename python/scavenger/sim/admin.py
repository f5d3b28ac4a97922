"""Routes that are not part of the real API: readiness, introspection and fault control."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from scavenger.sim.faults import ENDPOINTS, FaultRule, FaultSpecError
from scavenger.sim.replies import nest_error
from scavenger.sim.simulator import Simulator
from scavenger.sim.store import Registration
from scavenger.sim.timefmt import iso_ms


def add_admin_routes(app: FastAPI, sim: Simulator) -> None:
    """Not part of the real API: readiness, introspection and fault control for tests and demos."""

    @app.get("/_sim/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/_sim/info")
    async def info() -> dict[str, Any]:
        schedule = sim.schedule
        return {
            "receipt_public_key": sim.signer.public_key_hex,
            "network": sim.network,
            "start": iso_ms(schedule.start),
            "challenge_period": schedule.period,
            "days": schedule.days,
            "difficulty": list(schedule.difficulties),
            "rom_size": sim.checker.params.size,
            "pre_size": sim.checker.params.pre_size,
            "state": str(sim.store.path),
            "endpoints": sorted(ENDPOINTS),
        }

    @app.post("/_sim/registrations")
    async def register_outside(request: Request) -> Response:
        # An address registered by someone else, whose key we do not hold (e.g. the original program's
        # author address), so that donations to it can be set up as they happened on the real server.
        try:
            body = await request.json()
            address = str(body["address"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return nest_error(400, f"bad registration: {exc}")
        at = iso_ms(sim.clock())
        sim.store.add_registration(Registration(address, "00" * 32, "", {"registered_by": "_sim"}), at)
        return JSONResponse({"address": address, "registered_at": at})

    @app.get("/_sim/faults")
    async def list_faults() -> dict[str, Any]:
        return {
            "rules": sim.faults.rules(),
            "seed": sim.faults.seed,
            "rate_limit": {"requests": sim.limiter.limit, "window": sim.limiter.window},
        }

    @app.post("/_sim/faults")
    async def add_faults(request: Request) -> Response:
        try:
            body = await request.json()
            specs = body if isinstance(body, list) else [body]
            rules = [FaultRule.from_json(spec) for spec in specs]
        except (ValueError, FaultSpecError) as exc:
            return nest_error(400, f"bad fault rule: {exc}")
        for rule in rules:
            sim.faults.add(rule)
        return JSONResponse({"rules": sim.faults.rules()})

    @app.delete("/_sim/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.faults.clear()
        return {"rules": []}

    @app.post("/_sim/rate_limit")
    async def rate_limit(request: Request) -> Response:
        try:
            body = await request.json()
            sim.limiter.configure(int(body.get("requests", 0)), float(body.get("window", 1.0)))
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            return nest_error(400, f"bad rate limit: {exc}")
        return JSONResponse({"requests": sim.limiter.limit, "window": sim.limiter.window})
