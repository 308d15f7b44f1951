"""Prometheus metrics at ``/metrics`` and the middleware that measures every request.

Per process: requests by method, route template and status, and their latency. At scrape time,
from the database and Redis: deliveries by state, jobs waiting in the queue, and the clicks the
rollup has counted. The tracked-link redirect (``/s/``, outside the middleware for speed) counts
its answers by status without timing them.

``/metrics`` answers clients on this machine, or anyone with ``HUB_METRICS_TOKEN`` as a bearer
token.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as render_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.context import handling
from hub.db import unit_of_work
from hub.errors import Forbidden
from hub.models import Delivery, DeliveryState, LinkDay, TrackingFlush
from hub.system.logs import new_request_id

log = logging.getLogger("hub.access")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "hub_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
REDIRECTS = Counter(
    "hub_redirects",
    "Answers of the tracked-link redirect /s/{code}, by status.",
    ["status"],
    registry=REGISTRY,
)
UNMATCHED = "unmatched"  # no route: a 404 (the path itself is not a label: unbounded)

router = APIRouter(include_in_schema=False)


class ObserveMiddleware:
    """A request id for every request (kept from ``X-Request-ID`` when it looks like one, and
    sent back), its metrics, and one access-log line without personal data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        request_id = new_request_id(offered.decode("latin-1"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            with handling(request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "http.request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "request_id": request_id,
                },
            )


_redirect_counters: dict[int, Any] = {}


def count_redirect(status: int) -> None:
    """Count one answer of the redirect (its hot path: the labelled child is looked up once)."""
    child = _redirect_counters.get(status)
    if child is None:
        child = _redirect_counters[status] = REDIRECTS.labels(str(status))
    child.inc()


class _Snapshot(Collector):
    """Figures read once per scrape, as metric families."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


async def _snapshot(request: Request) -> list[Any]:
    state = request.state.hub
    deliveries = GaugeMetricFamily(
        "hub_deliveries", "Campaign notifications by state.", labels=["state"]
    )
    async with unit_of_work(state.db, None, write=False) as session:
        counted = dict(
            (
                await session.exec(
                    select(Delivery.state, func.count()).group_by(Delivery.state)  # type: ignore[arg-type]
                )
            ).all()
        )
        clicks = await session.scalar(select(func.coalesce(func.sum(LinkDay.clicks), 0)))
        batches = await session.scalar(select(func.count()).select_from(TrackingFlush))
    for delivery_state in DeliveryState:
        deliveries.add_metric([delivery_state.value], counted.get(delivery_state, 0))
    flushed = CounterMetricFamily(
        "hub_clicks_flushed", "Clicks the rollup has added to the daily counts."
    )
    flushed.add_metric([], int(clicks or 0))
    flushes = CounterMetricFamily("hub_click_flushes", "Batches of clicks the rollup applied.")
    flushes.add_metric([], int(batches or 0))
    queued = GaugeMetricFamily("hub_queue_depth", "Jobs waiting in the job queue.")
    queued.add_metric([], await state.redis.zcard(state.queue.queue_name))
    return [deliveries, flushed, flushes, queued]


def _allowed(request: Request) -> bool:
    secret = request.state.hub.settings.metrics_token
    if secret:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {secret}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", name="metrics")
async def metrics(request: Request) -> Response:
    """Prometheus' text format: this process's request metrics and the hub's figures."""
    if not _allowed(request):
        raise Forbidden("Metrics are for this machine, or with HUB_METRICS_TOKEN.")
    scrape = CollectorRegistry()
    scrape.register(_Snapshot(await _snapshot(request)))
    body = render_metrics(REGISTRY) + render_metrics(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
