"""The hash-chain beacon's endpoints (DESIGN §4 step 3), thin over ``MonitorBeacon``.

- ``GET /beacon``: the beacon's key, period, rounds a day and the newest public round;
- ``GET /beacon/days/{day}/commitment``: the signed commitment to day ``day``'s chain (UTC days
  since 1970), public before the day starts so that manifests can name it;
- ``GET /beacon/days/{day}/rounds/{round}``: the value of a round once its time has come
  (404 ``beacon-unavailable`` before), which a client checks against the commitment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.monitor.deps import MonitorDep
from exam_core.monitoring.beacon import MAX_DAY

router = APIRouter(prefix="/beacon", tags=["beacon"])

Day = Annotated[int, Path(ge=0, le=MAX_DAY, description="UTC day number (days since 1970)")]


class BeaconInfo(BaseModel):
    """What a client needs to use the beacon: its key, its timing and the newest round."""

    name: str
    vkey: str
    period_ms: int
    rounds_per_day: int
    current_day: int
    current_round: int


class BeaconValue(BaseModel):
    """One revealed round: ``value`` is the 32-byte chain value, in lowercase hex."""

    day: int
    round: int
    time_ms: int
    value: str


@router.get("", summary="the beacon's key, timing and newest public round")
def beacon_info(monitor: MonitorDep) -> BeaconInfo:
    beacon = monitor.beacon
    current = beacon.current()
    return BeaconInfo(
        name=beacon.name,
        vkey=beacon.vkey,
        period_ms=beacon.period_ms,
        rounds_per_day=beacon.rounds,
        current_day=current.day,
        current_round=current.round,
    )


@router.get(
    "/days/{day}/commitment",
    response_class=Response,
    responses={200: {"content": {"text/plain; charset=utf-8": {}}}},
    summary="the signed commitment to a day's chain",
)
async def commitment(day: Day, monitor: MonitorDep) -> Response:
    # The first request for a day builds its chain (thousands of hashes): off the event loop.
    text = await run_in_threadpool(monitor.beacon.commitment, day)
    return Response(text.encode(), media_type="text/plain; charset=utf-8")


@router.get("/days/{day}/rounds/{round_number}", summary="the value of one round")
async def round_value(
    day: Day,
    round_number: Annotated[int, Path(ge=1, le=86_400, description="round within the chain")],
    monitor: MonitorDep,
) -> BeaconValue:
    reading = await run_in_threadpool(monitor.beacon.reveal, day, round_number)
    return BeaconValue(
        day=day,
        round=reading.round,
        time_ms=day * 86_400_000 + reading.round * monitor.beacon.period_ms,
        value=reading.value.hex(),
    )
