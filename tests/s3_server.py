"""moto's standalone S3 server, started as a process of its own on a loopback port: the hub's
S3 media store is tested over real HTTP, against a server that speaks the S3 protocol."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx

from hub.config import Settings
from hub.materials.s3 import S3Storage

ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"
REGION = "eu-north-1"


class MotoServer:
    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
            try:
                httpx.get(self.endpoint_url + "/moto-api/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def client(self):  # type: ignore[no-untyped-def]  # boto3's clients are typed by stubs only
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"hub-{secrets.token_hex(6)}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name

    def settings_for(self, settings: Settings, bucket: str, prefix: str = "") -> Settings:
        """The test's settings with this server's bucket as the media store."""
        return settings.model_copy(
            update={
                "media_store": "s3",
                "s3_bucket": bucket,
                "s3_prefix": prefix,
                "s3_endpoint_url": self.endpoint_url,
                "s3_region": REGION,
                "s3_access_key_id": ACCESS_KEY,
                "s3_secret_access_key": SECRET_KEY,
            }
        )


def s3_storage(server: MotoServer, staging: Path, *, prefix: str = "") -> S3Storage:
    """A store on a new, empty bucket of the server."""
    return S3Storage(
        bucket=server.new_bucket(),
        prefix=prefix,
        staging=staging,
        endpoint_url=server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
