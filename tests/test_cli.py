"""The `hub` command and the worker entry point, run as real processes.

Every test here starts subprocesses with a clean environment (no HUB_* variables from the
outside), bounds every wait with a timeout and ends what it started by its pid.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from arq.connections import create_pool
from arq.jobs import Job

from hub.jobs import deserialize, redis_settings, serialize
from hub.models import OrganisationKind

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HUB = [str(BIN / "hub")] if (BIN / "hub").exists() else [sys.executable, "-m", "hub"]
ARQ = [str(BIN / "arq")] if (BIN / "arq").exists() else [sys.executable, "-m", "arq"]
SECRET = "cli-test-secret-" + "s" * 32  # 48 characters
PASSWORD = "a-long-password-123"
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
).replace("postgresql+asyncpg://", "postgresql://", 1)
COMMAND_TIMEOUT = 60


# --- helpers ---------------------------------------------------------------------------------


def hub_env(tmp_path: Path, **extra: str | None) -> dict[str, str]:
    """os.environ without any HUB_* variable, a strong secret, var/ and media/ under tmp_path.

    ``extra`` adds variables; a value of None removes one (e.g. HUB_SECRET_KEY=None).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_SECRET_KEY": SECRET,
            "HUB_VAR_DIR": str(tmp_path / "var"),
            "HUB_MEDIA_ROOT": str(tmp_path / "media"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
            "COLUMNS": "200",  # typer/rich help output: no wrapped or cut command names
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
    )
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    args: list[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    stdin: str | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=dict(env),
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stop(process: subprocess.Popen[Any], timeout: float = 20) -> int:
    """End a process we started, by its pid: SIGTERM, then SIGKILL if it does not listen."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False  # ended between the two looks
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def logs(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


# --- help ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_help_lists_every_command(tmp_path: Path) -> None:
    env = hub_env(tmp_path)
    commands = ("serve", "worker", "migrate", "create-user", "demo")
    runs = [
        [sys.executable, "-m", "hub", "--help"],
        [*HUB, "--help"],
        *([*HUB, command, "--help"] for command in commands),
    ]
    # All at once: each is a second of interpreter start-up.
    processes = [
        subprocess.Popen(
            args,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in runs
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=COMMAND_TIMEOUT)
            results.append((process.args, process.returncode, out, err))
    finally:
        for process in processes:
            stop(process)
    for args, code, out, err in results:
        assert code == 0, (args, err)
        assert "Usage" in out, (args, out)
    for _args, _code, out, _err in results[:2]:
        for command in commands:
            assert re.search(rf"\b{command}\b", out), (command, out)
    assert not (tmp_path / "var").exists(), "--help must not touch the var directory"


# --- the secret rule -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("secret", [None, "", "change-me"], ids=["unset", "empty", "placeholder"])
def test_serve_refuses_to_start_in_production_without_a_secret(
    tmp_path: Path, secret: str | None
) -> None:
    env = hub_env(tmp_path, HUB_ENV="production", HUB_SECRET_KEY=secret)
    # A port of our own: should the check ever break, the server must not take port 8000;
    # the timeout bounds it.
    result = run([*HUB, "serve", "--port", str(free_port())], env, tmp_path, timeout=30)
    assert result.returncode != 0
    assert "HUB_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


# --- make run --------------------------------------------------------------------------------


def wait_for_health(
    base: str, process: subprocess.Popen[bytes], stderr: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hub serve exited with {process.returncode}:\n{logs(stderr)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/healthz did not answer 200 within {timeout} s:\n{logs(stderr)}")


def wait_for_ready(base: str, timeout: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/readyz", timeout=5, trust_env=False)
        body = response.json()
        if response.status_code == 200:
            return body
        time.sleep(0.3)
    pytest.fail(f"/readyz was not ready within {timeout} s: {body}")


def setup_link(stdout: Path, port: int, timeout: float = 10) -> str:
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/setup/[A-Za-z0-9_-]+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = pattern.search(stdout.read_text(errors="replace"))
        if match:
            return match.group(0)
        time.sleep(0.1)
    pytest.fail(f"no setup link on stdout:\n{logs(stdout)}")


@pytest.mark.slow
def test_serve_runs_the_whole_hub_with_an_embedded_redis(tmp_path: Path) -> None:
    """`make run`: SQLite and an embedded Redis under var/, first admin via the setup link,
    sign-in, an API token, a ready worker, and a clean stop on SIGTERM."""
    var = tmp_path / "var"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = hub_env(tmp_path, HUB_ENV="development", HUB_REDIS_URL="", HUB_DATABASE_URL=None)
    stdout, stderr = tmp_path / "serve.out", tmp_path / "serve.err"
    email = "admin@example.org"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*HUB, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    redis_pid: int | None = None
    try:
        wait_for_health(base, process, stderr)
        link = setup_link(stdout, port)
        assert (var / "hub.db").exists(), "the default database is SQLite under var/"
        assert (var / "redis.url").exists(), "the embedded Redis publishes its address"
        redis_pid = read_pid(var / "redis" / "redis.pid")
        assert pid_alive(redis_pid)

        with httpx.Client(base_url=base, timeout=10, trust_env=False) as browser:
            # The first administrator, through the one-time setup link.
            page = browser.get(link)
            assert page.status_code == 200, page.text
            created = browser.post(
                link,
                data={
                    "name": "Ada Admin",
                    "email": email,
                    "password": PASSWORD,
                    "password_again": PASSWORD,
                    "csrf_token": csrf_from(page.text),
                },
            )
            assert created.status_code == 303, created.text
            assert "hub_session" in browser.cookies
            dashboard = browser.get("/")
            assert dashboard.status_code == 200
            assert "Ada Admin" in dashboard.text  # signed in as the new administrator

            # Sign out, and in again on the sign-in page.
            signed_out = browser.post("/logout", data={"csrf_token": csrf_from(dashboard.text)})
            assert signed_out.status_code == 303
            assert browser.get("/").status_code != 200
            login_page = browser.get("/login")
            assert login_page.status_code == 200
            signed_in = browser.post(
                "/login",
                data={
                    "email": email,
                    "password": PASSWORD,
                    "csrf_token": csrf_from(login_page.text),
                    "next": "/",
                },
            )
            assert signed_in.status_code == 303, signed_in.text
            assert browser.get("/").status_code == 200

            # An API token from the account page works on the API.
            tokens_page = browser.get("/account/tokens")
            assert tokens_page.status_code == 200
            made = browser.post(
                "/account/tokens",
                data={"name": "cli test", "csrf_token": csrf_from(tokens_page.text)},
            )
            assert made.status_code == 201, made.text
            match = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
            assert match, "the new token is shown once"
            raw_token = match.group(1).strip()

        me = httpx.get(
            f"{base}/api/v1/me",
            headers={"Authorization": f"Bearer {raw_token}"},
            timeout=10,
            trust_env=False,
        )
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email
        assert me.json()["role"] == "admin"

        ready = wait_for_ready(base)
        checks = ready["checks"]
        assert isinstance(checks, dict)
        for name in ("database", "redis", "worker"):
            assert checks[name]["ok"] is True, ready

        # The setup link works once.
        assert httpx.get(link, timeout=10, trust_env=False).status_code == 404

        # SIGTERM: the hub stops, and takes its Redis with it.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hub serve did not stop within 20 s of SIGTERM:\n{logs(stderr)}")
        assert process.returncode in (0, 128 + signal.SIGTERM), logs(stderr)
        assert "Traceback" not in logs(stderr)
        assert not (var / "redis.url").exists()
        deadline = time.monotonic() + 5
        while pid_alive(redis_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(redis_pid), "the embedded Redis outlived the hub"
    finally:
        stop(process)
        # Only if the hub died without stopping it: our own embedded Redis, by its pid.
        if redis_pid is not None and pid_alive(redis_pid):
            os.kill(redis_pid, signal.SIGTERM)


def read_pid(path: Path, timeout: float = 30) -> int:
    """The pid in ``path`` once it is there (Redis creates its pid file, then writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            time.sleep(0.005)
    pytest.fail(f"no pid in {path} within {timeout} s")


@pytest.mark.slow
def test_sigterm_while_starting_still_stops_the_embedded_redis(tmp_path: Path) -> None:
    """A SIGTERM as soon as the embedded Redis exists (while the hub waits for it to answer,
    or right after) must not leave that Redis running without its hub."""
    var = tmp_path / "var"
    env = hub_env(tmp_path, HUB_ENV="development", HUB_REDIS_URL="", HUB_DATABASE_URL=None)
    stderr = tmp_path / "serve.err"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [*HUB, "serve", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    redis_pid: int | None = None
    try:
        redis_pid = read_pid(var / "redis" / "redis.pid")
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hub serve did not stop within 20 s of SIGTERM:\n{logs(stderr)}")
        deadline = time.monotonic() + 5
        while pid_alive(redis_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(redis_pid), "the embedded Redis outlived the hub"
        assert not (var / "redis.url").exists()
    finally:
        stop(process)
        if redis_pid is not None and pid_alive(redis_pid):
            os.kill(redis_pid, signal.SIGTERM)


# --- the worker ------------------------------------------------------------------------------


@pytest.fixture
def worker_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment for a worker on the shared Redis, with a prefix of its own and a migrated
    SQLite database; the prefix's keys are removed afterwards."""
    if not port_open("127.0.0.1", 6379) and "HUB_TEST_REDIS_URL" not in os.environ:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"hubtest-cli-{secrets.token_hex(4)}:"
    env = hub_env(
        tmp_path,
        HUB_REDIS_URL=REDIS_URL,
        HUB_REDIS_PREFIX=prefix,
        HUB_DATABASE_URL=sqlite_url(tmp_path / "worker.db"),
        HUB_WORKER_HEARTBEAT_SECONDS="1",
    )
    migrated = run([*HUB, "migrate"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    try:
        yield env
    finally:
        asyncio.run(delete_keys(prefix))


async def delete_keys(prefix: str) -> None:
    pool = await create_pool(redis_settings(REDIS_URL))
    try:
        for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
            keys = [key async for key in pool.scan_iter(match=pattern, count=500)]
            if keys:
                await pool.delete(*keys)
    finally:
        await pool.aclose()


async def enqueue_noop(prefix: str, job_id: str) -> None:
    pool = await create_pool(
        redis_settings(REDIS_URL), job_serializer=serialize, job_deserializer=deserialize
    )
    try:
        job = await pool.enqueue_job("system.noop", _job_id=job_id, _queue_name=f"{prefix}queue")
        assert job is not None, "a job with this id exists already"
    finally:
        await pool.aclose()


async def job_result(prefix: str, job_id: str, wait_seconds: float) -> object:
    pool = await create_pool(
        redis_settings(REDIS_URL), job_serializer=serialize, job_deserializer=deserialize
    )
    try:
        job = Job(job_id, pool, _queue_name=f"{prefix}queue", _deserializer=deserialize)
        return await job.result(timeout=wait_seconds, poll_delay=0.1)
    finally:
        await pool.aclose()


@pytest.mark.slow
def test_arq_worker_settings_runs_jobs(tmp_path: Path, worker_env: dict[str, str]) -> None:
    prefix = worker_env["HUB_REDIS_PREFIX"]
    job_id = f"{prefix}noop-arq"
    stderr = tmp_path / "arq.err"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [*ARQ, "workers.WorkerSettings"],
            env=worker_env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    try:
        asyncio.run(enqueue_noop(prefix, job_id))
        try:
            result = asyncio.run(job_result(prefix, job_id, wait_seconds=30))
        except TimeoutError:
            pytest.fail(f"the arq worker ran no job in 30 s:\n{logs(stderr)}")
        assert result == "ok"
        assert process.poll() is None, logs(stderr)
    finally:
        code = stop(process)
    assert code == 0, logs(stderr)
    assert "Traceback" not in logs(stderr)


@pytest.mark.slow
def test_hub_worker_burst_runs_queued_jobs_and_exits(
    tmp_path: Path, worker_env: dict[str, str]
) -> None:
    prefix = worker_env["HUB_REDIS_PREFIX"]
    job_id = f"{prefix}noop-burst"
    asyncio.run(enqueue_noop(prefix, job_id))
    result = run([*HUB, "worker", "--burst"], worker_env, tmp_path, timeout=45)
    assert result.returncode == 0, result.stderr
    assert asyncio.run(job_result(prefix, job_id, wait_seconds=5)) == "ok"


@pytest.mark.slow
def test_hub_worker_without_any_redis_says_what_to_do(tmp_path: Path) -> None:
    result = run([*HUB, "worker", "--burst"], hub_env(tmp_path, HUB_REDIS_URL=""), tmp_path)
    assert result.returncode != 0
    assert "HUB_REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


# --- create-user and demo --------------------------------------------------------------------


@pytest.mark.slow
def test_create_user_asks_for_the_password(tmp_path: Path) -> None:
    env = hub_env(tmp_path, HUB_DATABASE_URL=sqlite_url(tmp_path / "users.db"))
    command = [*HUB, "create-user", "--role", "admin", "--email", "x@example.org"]

    created = run(command, env, tmp_path, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.returncode == 0, created.stderr
    assert "created admin x@example.org" in created.stdout

    short = run(
        [*HUB, "create-user", "--role", "admin", "--email", "y@example.org"],
        env,
        tmp_path,
        stdin="short\nshort\n",
    )
    assert short.returncode != 0
    assert "10" in short.stderr  # the minimum length, in whichever language the CLI speaks
    assert "Traceback" not in short.stderr

    duplicate = run(command, env, tmp_path, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert duplicate.returncode != 0
    assert re.search(r"already exists|findes allerede", duplicate.stderr), duplicate.stderr
    assert "Traceback" not in duplicate.stderr

    with sqlite3.connect(tmp_path / "users.db") as connection:
        rows = connection.execute('SELECT email, role FROM "user"').fetchall()
    assert rows == [("x@example.org", "admin")]


@pytest.mark.slow
def test_demo_seeds_once(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    env = hub_env(tmp_path, HUB_DATABASE_URL=sqlite_url(database))

    first = run([*HUB, "demo"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "seeded" in first.stdout
    sign_ins = re.findall(r"^\s+(officer|partner)\s+(\S+@\S+)\s+(\S+)\s*$", first.stdout, re.M)
    assert {role for role, _email, _password in sign_ins} == {"officer", "partner"}

    again = run([*HUB, "demo"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already" in again.stdout

    connection = sqlite3.connect(database)
    try:
        (areas,) = connection.execute("SELECT count(*) FROM area").fetchone()
        kinds = {kind for (kind,) in connection.execute("SELECT kind FROM organisation")}
        roles = {role for (role,) in connection.execute('SELECT role FROM "user"')}
        campaigns = connection.execute("SELECT status FROM campaign").fetchall()
    finally:
        connection.close()
    assert areas > 0
    assert kinds == {kind.value for kind in OrganisationKind}
    assert {"officer", "partner"} <= roles
    assert campaigns == [("draft",)]


# --- migrate on PostgreSQL -------------------------------------------------------------------


async def admin_sql(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def table_exists(url: str, table: str) -> bool:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        found = await connection.fetchval("SELECT to_regclass($1)", f'public."{table}"')
    finally:
        await connection.close()
    return found is not None


@pytest.mark.slow
def test_migrate_creates_the_schema_on_a_fresh_postgresql_database(tmp_path: Path) -> None:
    try:
        asyncio.run(admin_sql("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    name = f"hub_cli_{secrets.token_hex(4)}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        env = hub_env(
            tmp_path,
            HUB_DATABASE_URL=f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}",
        )
        result = run([*HUB, "migrate"], env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
        assert asyncio.run(table_exists(f"{base}/{name}", "user"))
        again = run([*HUB, "migrate"], env, tmp_path)
        assert again.returncode == 0, again.stderr
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
