"""Downloads: the hub's `file_response` against nginx sendfile serving the same file, same run.

    .venv/bin/python bench/download.py
    (BENCH_DOWNLOAD_MB=200, BENCH_DOWNLOAD_SECONDS=3, BENCH_DOWNLOAD_ROUNDS=3)

A film (random bytes) is written to a temporary media directory laid out like the hub's
(``objects/<key[:2]>/<key>``). Over loopback only, with wrk (a C load generator):

* full downloads with 4 concurrent connections, in bytes/s;
* 1 MiB Range requests at random 1 MiB-aligned offsets, 4 connections, in requests/s;

each from nginx (sendfile on, one worker: the baseline), from uvicorn running a tiny app whose
route returns ``hub.materials.serve.file_response``, from the same uvicorn with Starlette's
plain ``FileResponse`` (64 KiB chunks, for reference), and from nginx fronting that app in
X-Accel-Redirect mode (``HUB_MEDIA_ACCEL_REDIRECT``). The targets take turns, round after
round, and each keeps its best round: other load on the machine only ever slows a run down.
Goals: hub/nginx ≥ 0.9 for full downloads, ≥ 0.5 for Range requests.

nginx and wrk are installed with apt-get when missing (as root; the install is outside the
time bound). Without nginx the hub is compared with Starlette's FileResponse only. Every
process started here is stopped by its PID. This machine is shared and noisy: read the ratios,
not the absolute numbers.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(os.environ.get("BENCH_DOWNLOAD_MB", "200"))
SECONDS = int(os.environ.get("BENCH_DOWNLOAD_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_DOWNLOAD_ROUNDS", "3"))
# No new round starts after this many seconds of measuring (the whole run stays under 2 min).
TIME_BUDGET = 95
CONNECTIONS = 4
MIB = 1024 * 1024
RANGE_BYTES = MIB
ACCEL_PREFIX = "/_protected_media/"
GOAL_FULL = 0.9
GOAL_RANGE = 0.5

APP = """
import os
import pwd
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import FileResponse, PlainTextResponse
from starlette.routing import Route

from hub.materials.serve import file_response
from hub.materials.storage import LocalStorage

STORAGE = LocalStorage(Path(os.environ["BENCH_MEDIA"]))
KEY = os.environ["BENCH_KEY"]
FILE = STORAGE.path(KEY)
NAME = "Vaccination før vinteren.mp4"


async def hub(request):
    return await file_response(
        request, STORAGE, KEY, content_type="video/mp4", download_name=NAME, etag=KEY
    )


async def accel(request):
    return await file_response(
        request, STORAGE, KEY, content_type="video/mp4", download_name=NAME, etag=KEY,
        accel_prefix=os.environ["BENCH_ACCEL_PREFIX"],
    )


async def starlette_default(request):
    return FileResponse(FILE, media_type="video/mp4")


async def ready(request):
    return PlainTextResponse("ok")


app = Starlette(routes=[
    Route("/hub", hub, methods=["GET", "HEAD"]),
    Route("/accel", accel, methods=["GET", "HEAD"]),
    Route("/starlette", starlette_default, methods=["GET", "HEAD"]),
    Route("/ready", ready),
])
"""

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        # The baseline: nginx reads the very file the hub serves.
        location = /film {{
            alias {film};
            types {{ }}
            default_type video/mp4;
        }}
        # The hub behind nginx in X-Accel-Redirect mode: the app decides, nginx sends.
        location = /accel {{
            proxy_pass http://127.0.0.1:{app_port}/accel;
            proxy_buffering on;
        }}
        location {accel_prefix} {{
            internal;
            alias {objects}/;
        }}
    }}
}}
"""

RANGE_SCRIPT = """
local size = {size}
local chunk = {chunk}
local blocks = math.floor(size / chunk)
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end
function init(args)
    math.randomseed({seed} + id)
end
function request()
    local first = math.random(0, blocks - 1) * chunk
    return wrk.format(nil, nil, {{Range = "bytes=" .. first .. "-" .. (first + chunk - 1)}})
end
"""


@dataclass
class Figures:
    bytes_per_second: float
    requests_per_second: float
    bad_responses: int
    errors: str


# --- tools ---------------------------------------------------------------------------------


def apt_install(*packages: str) -> bool:
    """Install Debian packages as root; services are kept from starting while it runs."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    own_policy = not policy.exists()
    if own_policy:  # without it, installing nginx would start the system's nginx on port 80
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        print(f"installing {' '.join(packages)} with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=300)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            env=env,
            check=False,
            timeout=600,
        )
        return done.returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        if own_policy:
            policy.unlink(missing_ok=True)


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_tools() -> tuple[str | None, str | None]:
    missing = [
        package
        for package, found in (("nginx", find_nginx()), ("wrk", shutil.which("wrk")))
        if found is None
    ]
    if missing and not apt_install(*missing):
        print(f"could not install {', '.join(missing)} (needs root and apt-get)")
    return find_nginx(), shutil.which("wrk")


def nginx_user() -> str:
    """As root nginx's worker drops to nobody (Debian's group for it is nogroup)."""
    if os.geteuid() != 0:
        return ""
    group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
    return f"user nobody {group};"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up at {url}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- measuring -----------------------------------------------------------------------------

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def run_wrk(url: str, script: Path | None = None) -> Figures:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "60s", url]
    if script is not None:
        args[1:1] = ["-s", str(script)]
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=SECONDS + 90, check=True
    ).stdout
    transfer = re.search(r"Transfer/sec:\s*([\d.]+)([KMGT]?)B", out)
    requests = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if transfer is None or requests is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return Figures(
        bytes_per_second=float(transfer.group(1)) * _UNITS[transfer.group(2)],
        requests_per_second=float(requests.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        errors=errors.group(0) if errors else "",
    )


def check(url: str, content_start: bytes, size: int) -> None:
    """Each server gives the right bytes for a range and the right size for the whole."""
    ranged = httpx.get(url, headers={"Range": f"bytes={MIB}-{2 * MIB - 1}"}, timeout=30)
    assert ranged.status_code == 206, (url, ranged.status_code, ranged.text[:200])
    assert ranged.content == content_start[MIB : 2 * MIB], url
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200, (url, head.status_code)
    assert int(head.headers["content-length"]) == size, (url, head.headers)
    if url.endswith(("/hub", "/accel")):  # the name survives, through nginx too
        assert "filename*=UTF-8''Vaccination%20f%C3%B8r" in head.headers["content-disposition"]


def per_second(figures: Figures, kind: str) -> float:
    return figures.bytes_per_second if kind == "full" else figures.requests_per_second


def keep_best(best: dict[str, Figures], name: str, figures: Figures, kind: str) -> None:
    if name not in best or per_second(figures, kind) > per_second(best[name], kind):
        best[name] = figures


def mib(value: float) -> str:
    return f"{value / MIB:9.0f} MiB/s"


def report(kind: str, label: str, value: str, ratio: float | None, note: str) -> None:
    ratio_text = f"ratio {ratio:4.2f}" if ratio is not None else " " * 10
    print(f"{kind:6} {label:36} {value}  {ratio_text}  {note}".rstrip())


def verdict(ratio: float, goal: float) -> str:
    return f"goal >= {goal} {'met' if ratio >= goal else 'NOT met'}"


def write_film(path: Path, size_mb: int) -> tuple[str, bytes]:
    """Random content (so nothing compresses or dedupes), its sha256, and its first 2 MiB."""
    digest = hashlib.sha256()
    block = os.urandom(MIB)
    with path.open("wb") as film:
        for index in range(size_mb):
            chunk = index.to_bytes(8, "big") + block[8:]  # no two MiB alike
            digest.update(chunk)
            film.write(chunk)
    with path.open("rb") as film:
        return digest.hexdigest(), film.read(2 * MIB)


def main() -> int:
    nginx, wrk = ensure_tools()
    if wrk is None:
        print("wrk is not available: nothing can be measured (apt-get install wrk)")
        return 1
    if nginx is None:
        print("nginx is not available: the hub is compared with Starlette's FileResponse only")

    started: list[subprocess.Popen[bytes]] = []
    work = Path(tempfile.mkdtemp(prefix="hub-bench-download-"))
    began = time.monotonic()
    try:
        work.chmod(0o755)  # nginx's worker runs as another user
        staging = work / "film.tmp"
        key, content_start = write_film(staging, SIZE_MB)
        objects = work / "media" / "objects"
        film = objects / key[:2] / key
        film.parent.mkdir(parents=True)
        staging.rename(film)
        for directory in (work / "media", objects, film.parent):
            directory.chmod(0o755)
        film.chmod(0o644)
        size = film.stat().st_size

        (work / "bench_app.py").write_text(APP)
        app_port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BENCH_MEDIA": str(work / "media"),
            "BENCH_KEY": key,
            "BENCH_ACCEL_PREFIX": ACCEL_PREFIX,
        }
        uvicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(app_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=work,
            env=env,
        )
        started.append(uvicorn)
        app = f"http://127.0.0.1:{app_port}"
        wait_until_up(f"{app}/ready", uvicorn, "uvicorn")

        targets = {"hub": f"{app}/hub", "starlette": f"{app}/starlette"}
        if nginx is not None:
            nginx_port = free_port()
            (work / "nginx-tmp").mkdir()
            conf = work / "nginx.conf"
            conf.write_text(
                NGINX_CONF.format(
                    user=nginx_user(),
                    work=work,
                    port=nginx_port,
                    app_port=app_port,
                    film=film,
                    objects=objects,
                    accel_prefix=ACCEL_PREFIX,
                )
            )
            server = subprocess.Popen(
                [nginx, "-p", str(work), "-c", str(conf), "-e", str(work / "nginx-error.log")]
            )
            started.append(server)
            nginx_url = f"http://127.0.0.1:{nginx_port}"
            wait_until_up(f"{nginx_url}/film", server, "nginx")
            targets["nginx"] = f"{nginx_url}/film"
            targets["accel"] = f"{nginx_url}/accel"
        for url in targets.values():
            check(url, content_start, size)

        script = work / "range.lua"
        script.write_text(
            RANGE_SCRIPT.format(size=size, chunk=RANGE_BYTES, seed=random.randrange(10**6))
        )
        full: dict[str, Figures] = {}
        ranged: dict[str, Figures] = {}
        measuring = time.monotonic()
        rounds = 0
        while rounds < ROUNDS:
            spent = time.monotonic() - measuring
            if rounds and spent + spent / rounds > TIME_BUDGET:
                break  # another round would overrun the budget
            rounds += 1
            for name, url in targets.items():
                keep_best(full, name, run_wrk(url), "full")
                keep_best(ranged, name, run_wrk(url, script), "range")
    finally:
        for process in reversed(started):
            stop(process)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"download  a {SIZE_MB} MiB film, {CONNECTIONS} connections, best of {rounds} rounds "
        f"of {SECONDS} s, {os.cpu_count()} CPUs, {time.monotonic() - began:.0f} s in all"
    )
    base = "nginx" if "nginx" in full else "starlette"
    labels = {
        "nginx": "nginx sendfile",
        "hub": "hub file_response (1 MiB chunks)",
        "starlette": "starlette FileResponse (64 KiB)",
        "accel": "hub via nginx X-Accel-Redirect",
    }
    for kind, results, goal in (("full", full, GOAL_FULL), ("range", ranged, GOAL_RANGE)):
        for name in ("nginx", "hub", "starlette", "accel"):
            if name not in results:
                continue
            figures = results[name]
            measure = per_second(figures, kind)
            if name == base:
                ratio, note = None, "(baseline)"
            else:
                ratio = measure / per_second(results[base], kind)
                note = verdict(ratio, goal) if name == "hub" and base == "nginx" else "(reference)"
            if figures.bad_responses or figures.errors:
                note += f"  [{figures.bad_responses} bad responses; {figures.errors}]"
            value = mib(measure) if kind == "full" else f"{measure:9.0f} req/s  "
            report(kind, labels[name], value, ratio, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
