"""What the run measures: the deliveries as the database has them, what each worker says it
sent, the clicks driven at the web processes, and the clicks the hub counted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlmodel import col, func, select

from hub.db import Database, unit_of_work
from hub.models import Delivery, DeliveryState, LinkDay, TrackedLink

UNSETTLED = {DeliveryState.queued, DeliveryState.sending, DeliveryState.retrying}
# A phone's browser: a click, not a link preview.
HEADERS = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Accept-Language": "da",
}
CLICK_TIMEOUT = 30.0


# --- deliveries ---------------------------------------------------------------------------------


async def delivery_states(db: Database, campaign_id: int) -> Counter[str]:
    async with unit_of_work(db, None, write=False) as session:
        rows = await session.exec(
            select(Delivery.state, func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(col(Delivery.state))
        )
        return Counter({DeliveryState(state).value: int(n) for state, n in rows.all()})


async def wait_settled(db: Database, campaign_id: int, expected: int, deadline: float) -> bool:
    """Until every delivery is in a final state (True), or the deadline (False)."""
    while True:
        states = await delivery_states(db, campaign_id)
        if sum(states.values()) >= expected and not any(states[s.value] for s in UNSETTLED):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.25)


@dataclass
class DeliveryFacts:
    rows: int
    contacts: int  # distinct contacts with a delivery
    max_attempts: int
    first_sent: float  # when the first and the last were sent (Unix time)
    last_sent: float


async def delivery_facts(db: Database, campaign_id: int) -> DeliveryFacts:
    async with unit_of_work(db, None, write=False) as session:
        ours = Delivery.campaign_id == campaign_id
        rows, contacts, attempts = (
            await session.exec(
                select(
                    func.count(),
                    func.count(sa.distinct(col(Delivery.contact_id))),
                    func.max(Delivery.attempts),
                ).where(ours)
            )
        ).one()
        first, last = (
            await session.exec(
                select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)).where(ours)
            )
        ).one()
    return DeliveryFacts(
        rows=int(rows),
        contacts=int(contacts),
        max_attempts=int(attempts or 0),
        first_sent=first.timestamp() if first else 0.0,
        last_sent=last.timestamp() if last else 0.0,
    )


_SEND_DONE = re.compile(r"distribution\.send ● '([^']*)'")
_SENT = re.compile(r"\bsent (\d+)")


def worker_sends(log: str) -> tuple[int, int]:
    """(deliveries sent, send jobs done) as a worker's log tells it (arq's line per job)."""
    sent = jobs = 0
    for line in log.splitlines():
        try:
            message = str(json.loads(line).get("message", ""))
        except (ValueError, AttributeError):
            message = line
        done = _SEND_DONE.search(message)
        if done:
            jobs += 1
            found = _SENT.search(done.group(1))
            sent += int(found.group(1)) if found else 0
    return sent, jobs


# --- clicks -------------------------------------------------------------------------------------


@dataclass
class ClickRun:
    seconds: float = 0.0
    answered: Counter[str] = field(default_factory=Counter)  # code → 302s
    per_server: Counter[str] = field(default_factory=Counter)  # url → 302s
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())


async def drive_clicks(
    urls: list[str], codes: list[str], total: int, concurrency: int, deadline: float
) -> ClickRun:
    """``total`` GET /s/<code>, spread evenly over the codes; ``concurrency`` clickers at a
    time, each alternating between the web processes. Every answer must be a 302 to the
    link's landing page."""
    run = ClickRun()
    plan = iter(codes[n % len(codes)] for n in range(total))
    # The requests are made once and sent through httpx's transport: the client's own work
    # per request (URL merging, cookies, redirects, hooks) would double this process's cost.
    timeout = {"timeout": httpx.Timeout(CLICK_TIMEOUT).as_dict()}
    requests = {
        (url, code): httpx.Request("GET", f"{url}/s/{code}", headers=HEADERS, extensions=timeout)
        for url in urls
        for code in codes
    }
    # One connection to each web process per clicker, each used every other request: none
    # sits idle long enough for the server to close it under a request on its way.
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=len(urls))

    async def clicker(transport: httpx.AsyncHTTPTransport, first: int) -> None:
        for n, code in enumerate(plan, start=first):
            url = urls[n % len(urls)]
            if time.monotonic() > deadline:
                run.problems.append("the clicks did not all go before the deadline")
                return
            try:
                answer = await transport.handle_async_request(requests[(url, code)])
                await answer.aread()
                await answer.aclose()
            except httpx.HTTPError as exc:
                run.statuses["error"] += 1
                run.problems.append(f"{url}/s/{code}: {type(exc).__name__}: {exc}")
                continue
            run.statuses[str(answer.status_code)] += 1
            if answer.status_code == 302 and answer.headers.get("location") == f"/c/{code}":
                run.answered[code] += 1
                run.per_server[url] += 1
            else:
                run.problems.append(
                    f"{url}/s/{code}: {answer.status_code} to {answer.headers.get('location')}"
                )

    # A pool per clicker: one pool of many connections costs more per request the more
    # connections it holds. One TLS context for all (never used on plain HTTP, but each
    # transport would load the CA certificates for one of its own, 40 ms apiece).
    tls = ssl.create_default_context()
    async with contextlib.AsyncExitStack() as stack:
        transports = [
            await stack.enter_async_context(
                httpx.AsyncHTTPTransport(verify=tls, limits=limits, retries=0)
            )
            for _ in range(concurrency)
        ]
        started = time.perf_counter()
        await asyncio.gather(*(clicker(t, n) for n, t in enumerate(transports)))
        run.seconds = time.perf_counter() - started
    return run


async def counted_clicks(db: Database, campaign_id: int) -> tuple[dict[int, int], int]:
    """The clicks in the daily rollups per link of the campaign, and all previews."""
    async with unit_of_work(db, None, write=False) as session:
        rows = (
            await session.exec(
                select(LinkDay.link_id, func.sum(LinkDay.clicks), func.sum(LinkDay.previews))
                .join(TrackedLink, col(TrackedLink.id) == col(LinkDay.link_id))
                .where(TrackedLink.campaign_id == campaign_id)
                .group_by(col(LinkDay.link_id))
            )
        ).all()
    return {link: int(c or 0) for link, c, _p in rows}, sum(int(p or 0) for *_x, p in rows)


async def api_clicks(client: httpx.AsyncClient, campaign_id: int) -> dict[int, int]:
    """The clicks per link as an officer reads them from the API."""
    totals: dict[int, int] = {}
    offset = 0
    while True:
        answer = await client.get(
            f"/api/v1/campaigns/{campaign_id}/links", params={"limit": 500, "offset": offset}
        )
        answer.raise_for_status()
        page = answer.json()
        totals.update({int(link["id"]): int(link["clicks"]) for link in page["items"]})
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return totals
