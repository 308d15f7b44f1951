"""Operators' view: a request id on every answer and log line, JSON logs without personal data,
and Prometheus metrics at /metrics for this machine or a bearer token."""

from __future__ import annotations

import io
import json
import logging
import re

import httpx
import pytest
from fastapi import FastAPI

from hub.config import Settings
from hub.db import Database
from hub.models import DeliveryState
from hub.system.logs import configure_logging
from tests.factories import make_partner

PROBE_EMAIL = "citizen.probe@example.org"
PROBE_AGENT = "ProbeBrowser/9.9 (personal-agent-string)"
PROBE_IP = "198.51.100.77"


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when it is not there)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        found_name, _, found_labels = sample.partition("{")
        if found_name != name:
            continue
        found = ",".join(sorted(found_labels.rstrip("}").split(","))) if found_labels else ""
        if found == wanted:
            return float(value)
    return 0.0


async def test_every_answer_carries_a_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{16}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    # A proxy's id is kept when it looks like one; anything else is replaced.
    kept = await client.get("/healthz", headers={"X-Request-ID": "edge-4f9c2a71b3"})
    assert kept.headers["x-request-id"] == "edge-4f9c2a71b3"
    odd = await client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404 and "x-request-id" in missing.headers


async def test_access_log_names_the_route_but_no_person(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    answer = await client.get(
        f"/c/AbCdEfGh/ar?email={PROBE_EMAIL}",
        headers={"User-Agent": PROBE_AGENT, "X-Forwarded-For": PROBE_IP},
    )
    [record] = [r for r in caplog.records if r.name == "hub.access"]
    assert record.route == "/c/{code}/{language}"  # type: ignore[attr-defined]
    assert record.status == answer.status_code  # type: ignore[attr-defined]
    assert record.request_id == answer.headers["x-request-id"]  # type: ignore[attr-defined]
    everything = json.dumps([vars(r) for r in caplog.records], default=str)
    for personal in (PROBE_EMAIL, PROBE_AGENT, PROBE_IP, "AbCdEfGh"):
        assert personal not in everything


async def test_json_logs_carry_the_request_id(settings: Settings, app: FastAPI) -> None:
    stream = io.StringIO()
    settings.log_format = "json"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(settings, stream=stream)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            answer = await c.get("/healthz", headers={"User-Agent": PROBE_AGENT})
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "hub.access"]
    assert access, lines
    assert access[-1]["request_id"] == answer.headers["x-request-id"]
    assert access[-1]["route"] == "/healthz" and access[-1]["status"] == 200
    assert {"time", "level", "message"} <= set(access[-1])
    assert PROBE_AGENT not in stream.getvalue()


async def test_metrics_count_requests_deliveries_queue_and_clicks(
    client: httpx.AsyncClient, db: Database
) -> None:
    before = (await client.get("/metrics")).text
    await client.get("/healthz")
    await client.get("/s/nosuchcode")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert metric(text, "hub_http_requests_total", **healthz) == (
        metric(before, "hub_http_requests_total", **healthz) + 1
    )
    assert metric(text, "hub_redirects_total", status="404") == (
        metric(before, "hub_redirects_total", status="404") + 1
    )
    assert "hub_http_request_duration_seconds_bucket" in text
    for state in DeliveryState:
        assert f'hub_deliveries{{state="{state.value}"}} 0.0' in text
    assert "hub_queue_depth " in text and "hub_clicks_flushed_total 0.0" in text
    await make_partner(db, name="Forening")  # nothing sent: the figures stay honest
    assert 'hub_deliveries{state="sent"} 0.0' in (await client.get("/metrics")).text


async def test_metrics_are_for_this_machine_or_a_token(app: FastAPI, settings: Settings) -> None:
    remote = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=remote, base_url="http://testserver") as outside:
        refused = await outside.get("/metrics")
        assert refused.status_code == 403
        settings.metrics_token = "scrape-" + "k" * 30
        try:
            wrong = await outside.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 403
            good = await outside.get(
                "/metrics", headers={"Authorization": f"Bearer {settings.metrics_token}"}
            )
            assert good.status_code == 200 and "hub_http_requests_total" in good.text
        finally:
            settings.metrics_token = ""
