"""The scale-out run at full size (``scripts/scale_out.py``): PostgreSQL, Redis, two web
processes and two workers on this machine, the media in a bucket of moto's S3 server (no disk
shared between the processes), a campaign published to 5,000 e-mail contacts and 20,000
clicks on its tracked links. Every contact receives exactly one message, every delivery
is sent, both workers send, and the counted clicks equal the clicks sent, per link and in
total. The script's report is in the test's output and in ``var/scale-out-report.json``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.scale_out.servers import pg_bin

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "scale_out.py"
CONTACTS, CLICKS = 5000, 20000
# The script's own bound on its phases; then a SIGTERM lets it stop what it started.
RUN_SECONDS = 180
GRACE_SECONDS = 30


def test_scale_out_run_sends_once_and_counts_every_click() -> None:
    if pg_bin() is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("needs PostgreSQL's server programs (initdb) and, as root, runuser")
    report_path = ROOT / "var" / "scale-out-report.json"
    report_path.parent.mkdir(exist_ok=True)
    report_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            sys.executable, str(SCRIPT), "--contacts", str(CONTACTS), "--clicks", str(CLICKS),
            "--timeout", str(RUN_SECONDS), "--json", str(report_path),
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=RUN_SECONDS + GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the script stops its servers, then ends
        try:
            output, _ = process.communicate(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"the scale-out run took too long:\n{output[-4000:]}")
    print(output)
    assert process.returncode == 0, output[-6000:]

    report = json.loads(report_path.read_text())
    assert report["passed"], report["checks"]
    assert report["deliveries"] == {"sent": CONTACTS}
    assert report["messages"] == report["recipients"] == CONTACTS
    sent_by_worker = [worker["sent"] for worker in report["workers"].values()]
    assert len(sent_by_worker) == 2 and min(sent_by_worker) > 0
    assert sum(sent_by_worker) == CONTACTS
    assert report["clicks_sent"] == report["clicks_answered"] == CLICKS
    assert report["clicks_counted"] == report["clicks_final"] == CLICKS
    checks = report["checks"]
    assert checks["the upload is in the bucket, served whole by the other web process"]
    assert checks["no hub process kept a file on its own disk"]
