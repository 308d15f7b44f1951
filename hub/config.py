"""Settings, read from the environment (prefix ``HUB_``) and an optional ``.env`` file."""

from __future__ import annotations

import json
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never protect a real deployment: the empty string and the placeholders
# that appear in `.env.example`, the README and the compose file.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32


class InsecureSettings(RuntimeError):
    """The configuration is unsafe outside development; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production", "test"] = "development"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies whose X-Forwarded-For/-Proto headers are trusted (comma-separated, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    secret_key: str = ""

    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = "hub:"
    # Material files: on local disk under media_root ("local"), or in an S3-compatible bucket
    # ("s3": AWS S3, MinIO, Ceph...), which every web and worker process shares. With S3,
    # media_root only holds uploads while they arrive and films while they are processed.
    media_store: Literal["local", "s3"] = "local"
    media_root: Path = Path("media")
    s3_bucket: str = ""
    # Keys are stored under this prefix in the bucket (e.g. "hub/"), so it may be shared.
    s3_prefix: str = ""
    # An S3-compatible server's address; empty for AWS itself.
    s3_endpoint_url: str = ""
    s3_region: str = ""
    # Empty: boto3's own credential chain (environment, instance role, ~/.aws).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    # Internal location prefix (e.g. "/_protected_media/") of a fronting nginx: downloads then
    # answer with X-Accel-Redirect and nginx sends the file. Empty: the hub sends it itself.
    media_accel_redirect: str = ""
    max_upload_mb: int = Field(default=1024, ge=1)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Partner Hub <noreply@localhost>"
    smtp_timeout_seconds: float = 20.0

    # SMS through an HTTP gateway: POST to the URL with the JSON body below, where the strings
    # {to}, {text} and {sender} are replaced (JSON-escaped); the auth header as "Name: value".
    sms_gateway_url: str = ""
    sms_gateway_auth_header: str = ""
    sms_gateway_body: str = '{"to": "{to}", "text": "{text}", "from": "{sender}"}'
    sms_sender: str = "Kommunen"
    # Partner webhooks to private, loopback or link-local addresses are refused unless set.
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Sending limits per channel (0: no limit) and per contact.
    email_per_second: float = Field(default=50.0, ge=0)
    email_per_hour: int = Field(default=0, ge=0)
    sms_per_second: float = Field(default=5.0, ge=0)
    sms_per_hour: int = Field(default=0, ge=0)
    webhook_per_second: float = Field(default=20.0, ge=0)
    webhook_per_hour: int = Field(default=0, ge=0)
    notifications_per_contact_per_week: int = Field(default=5, ge=1)
    # Deliveries per send job, and how long a send job holds them before a sweep may retry.
    delivery_batch_size: int = Field(default=250, ge=1, le=1000)
    delivery_lease_seconds: int = Field(default=300, ge=10)

    # Reach reports: areas whose uptake is below this percent, and whose measured reach is
    # below this many unique visitors per 1,000 residents (or that no partner serves), are
    # flagged in the equity view; counts below the small-cell threshold show as "<5" in
    # exports and to partners.
    equity_uptake_threshold: float = Field(default=80.0, gt=0, le=100)
    equity_low_reach_per_1000: float = Field(default=50.0, ge=0)
    small_cell_threshold: int = Field(default=5, ge=1, le=100)
    # Where a citizen who opens the link of an ended campaign finds current information.
    citizen_info_url: str = "https://www.sst.dk/"

    default_language: Literal["da", "en"] = "da"
    session_hours: int = Field(default=12, ge=1)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    setup_link_hours: int = Field(default=24, ge=1)
    invitation_days: int = Field(default=7, ge=1)
    # Sign-in links work once and briefly; more than 15 minutes is not allowed.
    magic_link_minutes: int = Field(default=15, ge=1, le=15)
    magic_link_max_per_window: int = Field(default=5, ge=1)
    # The data-processing agreement partners accept; a new version is asked for again.
    dpa_version: str = "2026-1"
    worker_heartbeat_seconds: int = Field(default=10, ge=1)
    # Forward reports' photos and the download log are deleted after this many days; the
    # reach figures made from them are kept.
    retention_days: int = Field(default=400, ge=60)
    log_level: str = "INFO"
    # json: one object per line; text: for reading at a terminal; auto: text at a terminal.
    log_format: Literal["auto", "json", "text"] = "auto"
    # A bearer token for /metrics; without one, only clients on this machine may read it.
    metrics_token: str = ""

    @field_validator("sms_gateway_body")
    @classmethod
    def _json_body(cls, value: str) -> str:
        try:
            json.loads(value)
        except ValueError as exc:
            raise ValueError(f"HUB_SMS_GATEWAY_BODY is not valid JSON: {exc}") from None
        return value

    @model_validator(mode="after")
    def _media_store_complete(self) -> Settings:
        if self.media_store == "s3":
            if not self.s3_bucket:
                raise ValueError("HUB_MEDIA_STORE=s3 needs HUB_S3_BUCKET.")
            if self.media_accel_redirect:
                raise ValueError(
                    "HUB_MEDIA_ACCEL_REDIRECT works with local media only: nginx cannot send "
                    "files from an S3 bucket."
                )
        return self

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'hub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def queue_name(self) -> str:
        return f"{self.redis_prefix}queue"

    def check_secret(self) -> None:
        """Refuse a default or empty secret outside development; make one up in development."""
        weak = self.secret_key in KNOWN_DEFAULT_SECRETS or len(self.secret_key) < MIN_SECRET_LENGTH
        if not weak:
            return
        if self.env != "development":
            raise InsecureSettings(
                "HUB_SECRET_KEY is empty, a known placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters. Set HUB_SECRET_KEY to a long random value, "
                "for example the output of: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'"
            )
        if self.secret_key not in KNOWN_DEFAULT_SECRETS:
            return  # a developer's own short key is their business
        # Development without a key: keep one under var/ so sessions survive a restart.
        key_file = self.var_dir / "secret_key"
        if key_file.exists():
            self.secret_key = key_file.read_text().strip()
        else:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            self.secret_key = secrets.token_urlsafe(48)
            key_file.write_text(self.secret_key)
            key_file.chmod(0o600)


def load_settings(**overrides: object) -> Settings:
    """Read settings and apply the secret rule; the one way the hub gets its configuration."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.check_secret()
    return settings
