"""Settings: the secret rule and derived values."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import InsecureSettings, Settings, load_settings


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file


@pytest.mark.parametrize("secret", ["", "change-me", "secret", "short-but-not-empty"])
@pytest.mark.parametrize("env", ["production", "test"])
def test_weak_secret_is_refused_outside_development(env: str, secret: str) -> None:
    with pytest.raises(InsecureSettings, match="HUB_SECRET_KEY"):
        load_settings(env=env, secret_key=secret)


def test_strong_secret_is_accepted_in_production() -> None:
    settings = load_settings(env="production", secret_key="k" * 48)
    assert settings.secret_key == "k" * 48


def test_development_makes_up_a_secret_and_keeps_it(tmp_path: Path) -> None:
    first = load_settings(env="development", var_dir=tmp_path / "var")
    second = load_settings(env="development", var_dir=tmp_path / "var")
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    placeholder = load_settings(env="development", var_dir=tmp_path / "var", secret_key="change-me")
    assert placeholder.secret_key == first.secret_key


def test_environment_variables_use_the_hub_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("HUB_BASE_URL", "https://hub.example.org/")
    settings = Settings()
    assert settings.max_upload_bytes == 5 * 1024 * 1024
    assert settings.base_url == "https://hub.example.org"
    assert settings.secure_cookies


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HUB_SMTP_PORT=2525\nHUB_SMTP_SECURITY=starttls\n")
    settings = Settings()
    assert (settings.smtp_port, settings.smtp_security) == (2525, "starttls")


def test_invalid_values_are_refused_with_the_field_named() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="smtp_security"):
        Settings(smtp_security="ssl-please")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_upload_mb"):
        Settings(max_upload_mb=0)


def test_default_database_is_sqlite_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "v")
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'v' / 'hub.db'}"
    assert settings.is_sqlite and settings.embedded_redis


def test_the_sms_gateway_body_must_be_json() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="HUB_SMS_GATEWAY_BODY"):
        Settings(_env_file=None, sms_gateway_body='{"to": {to}}')  # type: ignore[call-arg]
