"""The run's report: how long each phase took, what was seen, and the checks that decide
whether the run passed (printed, and as JSON for the test)."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .traffic import ClickRun, DeliveryFacts


@dataclass
class Report:
    phases: list[tuple[str, float, str]] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[dict[str, str]]:
        """Time a phase; what the block puts in ``note["note"]`` is printed beside it."""
        note = {"note": ""}
        started = time.perf_counter()
        try:
            yield note
        finally:
            seconds = time.perf_counter() - started
            self.phases.append((name, seconds, note["note"]))
            print(f"  {name}: {seconds:.1f} s {note['note']}", flush=True)

    def section(self, title: str, *lines: str) -> None:
        self.sections[title] = list(lines)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _n, ok, _d in self.checks)

    def print(self) -> None:
        print("\nphases")
        for name, seconds, note in self.phases:
            print(f"  {name:<40} {seconds:7.1f} s  {note}")
        print(f"  {'in all':<40} {sum(s for _n, s, _x in self.phases):7.1f} s")
        for title, lines in self.sections.items():
            print(f"\n{title}")
            for line in lines:
                print(f"  {line}")
        print("\nchecks")
        for name, ok, detail in self.checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {detail}" if detail else ""))
        print(f"\nscale-out run {'PASSED' if self.passed else 'FAILED'}", flush=True)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.facts,
            "phases": {name: round(seconds, 2) for name, seconds, _n in self.phases},
            "checks": {name: ok for name, ok, _d in self.checks},
            "passed": self.passed,
        }


def _listed(counts: dict[Any, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"


def check_deliveries(
    report: Report,
    *,
    contacts: int,
    emails: set[str],
    settled: bool,
    states: Counter[str],
    facts: DeliveryFacts,
    sink: tuple[int, Counter[str], Counter[str]],
    sends: dict[str, tuple[int, int]],
) -> None:
    """Every contact's delivery is sent, once in the database and once at the SMTP sink, and
    both workers took part."""
    messages, per_recipient, per_id = sink
    # How many recipients got one message, two, ... ({1: 5000} is right).
    shape = Counter(per_recipient.values())
    missing = len(emails - set(per_recipient))
    strangers = len(set(per_recipient) - emails)
    report.section(
        "deliveries",
        f"by state: {_listed(states)}",
        f"rows {facts.rows}, distinct contacts {facts.contacts}, "
        f"most attempts on one {facts.max_attempts}",
    )
    report.section(
        "SMTP sink",
        f"messages {messages}, recipients {len(per_recipient)}; recipients by messages "
        f"received: {_listed(shape)}",
        f"missing recipients {missing}, unknown recipients {strangers}, "
        f"distinct Message-IDs {len(per_id)}",
    )
    report.section(
        "workers",
        *(f"{name}: sent {sent} in {jobs} send jobs" for name, (sent, jobs) in sends.items()),
    )
    report.facts.update(
        deliveries=dict(states),
        messages=messages,
        recipients=len(per_recipient),
        workers={name: {"sent": sent, "jobs": jobs} for name, (sent, jobs) in sends.items()},
    )
    report.check("every delivery final in time", settled, f"{sum(states.values())} deliveries")
    report.check(
        "one delivery per contact, all sent",
        facts.rows == facts.contacts == contacts and states == Counter(sent=contacts),
        f"{facts.rows} rows for {facts.contacts} contacts; {_listed(states)}",
    )
    report.check(
        "each contact received exactly one message",
        messages == contacts and not missing and not strangers and set(shape) == {1},
        f"{messages} messages to {len(per_recipient)} of {contacts} contacts",
    )
    report.check(
        "one Message-ID per delivery",
        len(per_id) == contacts and set(per_id.values()) == {1},
        f"{len(per_id)} distinct in {messages} messages",
    )
    sent = [n for n, _jobs in sends.values()]
    report.check(
        "both workers sent, together everything",
        len(sent) > 1 and all(sent) and sum(sent) == contacts,
        ", ".join(f"{name} {n}" for name, (n, _j) in sends.items()),
    )


def check_clicks(
    report: Report,
    *,
    wanted: int,
    links: dict[str, int],
    driven: ClickRun,
    servers: dict[str, str],
    counted: dict[int, int],
    previews: int,
    from_api: dict[int, int],
    final: dict[int, int],
    final_previews: int,
) -> None:
    """Every click was answered 302, and the rollups hold exactly the clicks answered, per
    link and in total, before and after the web processes stopped."""
    expected = {links[code]: n for code, n in driven.answered.items()}
    answered = sum(expected.values())
    off = [i for i in links.values() if counted.get(i, 0) != expected.get(i, 0)]
    spread = sorted(expected.get(i, 0) for i in links.values()) or [0]
    report.section(
        "clicks",
        f"sent {driven.sent} over {len(links)} links ({spread[0]} to {spread[-1]} a link); "
        f"answers: {_listed(driven.statuses)}",
        "per web process: "
        + ", ".join(f"{name} {driven.per_server[url]}" for url, name in servers.items()),
        f"counted {sum(counted.values())}, previews {previews}; links counted wrong: {len(off)}",
        f"after a graceful stop and another flush: {sum(final.values())} "
        f"(previews {final_previews})",
        *driven.problems[:5],
    )
    report.facts.update(
        clicks_sent=driven.sent,
        clicks_answered=answered,
        clicks_counted=sum(counted.values()),
        clicks_final=sum(final.values()),
        links=len(links),
    )
    report.check(
        "every click answered 302 to its landing page",
        not driven.problems and driven.statuses == Counter({"302": driven.sent}),
        f"{_listed(driven.statuses)} of {driven.sent}",
    )
    report.check("all the clicks driven", driven.sent == wanted, f"{driven.sent} of {wanted}")
    report.check(
        "both web processes answered half",
        all(abs(driven.per_server[url] - answered / len(servers)) <= 100 for url in servers),
        ", ".join(f"{name} {driven.per_server[url]}" for url, name in servers.items()),
    )
    report.check(
        "counted clicks equal the clicks answered, in total and per link",
        sum(counted.values()) == answered and not off and previews == 0,
        f"{sum(counted.values())} of {answered}; {len(off)} links off; {previews} previews",
    )
    report.check(
        "the API's link totals equal the database's",
        all(from_api.get(i, 0) == counted.get(i, 0) for i in links.values()),
        f"{sum(from_api.values())} clicks in the API",
    )
    report.check(
        "nothing more counted after a graceful stop",
        final == counted and final_previews == 0,
        f"{sum(final.values())} counted",
    )
