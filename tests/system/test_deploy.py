"""The deployment files say what the hub understands: every HUB_ variable that compose.yml,
compose.scale.yml, .env.example and the README name is a setting, every setting is documented
in the README, and the nginx configuration for several web processes is valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import Settings

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\bHUB_[A-Z0-9_]*[A-Z0-9]\b")
# Named in the files, but read by the test suite and the scripts, not by the hub.
NOT_SETTINGS = {"HUB_TEST_DATABASE", "HUB_TEST_POSTGRES_URL", "HUB_SCREENSHOTS", "HUB_LOAD_SECONDS"}


class _ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it: `!reset` and `!override` mark values an overlay replaces."""


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, lambda loader, node: None)


def _compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / name).read_text(), Loader=_ComposeLoader)  # noqa: S506
    return loaded


def _setting_names() -> set[str]:
    return {f"HUB_{name.upper()}" for name in Settings.model_fields}


@pytest.mark.parametrize("name", ["compose.yml", "compose.scale.yml", ".env.example", "README.md"])
def test_every_variable_named_is_a_setting(name: str) -> None:
    named = set(_VARIABLE.findall((ROOT / name).read_text())) - NOT_SETTINGS
    unknown = sorted(named - _setting_names())
    assert not unknown, f"{name} names variables the hub does not read: {unknown}"


def test_every_setting_is_in_the_readmes_table() -> None:
    table = "\n".join(
        line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `")
    )
    missing = sorted(name for name in _setting_names() if f"`{name}`" not in table)
    assert not missing, f"not documented in the README's configuration table: {missing}"


def test_the_scale_overlay_runs_several_web_and_worker_processes_on_a_bucket() -> None:
    base, scale = _compose("compose.yml"), _compose("compose.scale.yml")
    for role in ("web", "worker"):
        assert role in base["services"]
        overlay = scale["services"][role]
        assert overlay["deploy"]["replicas"] >= 2
        assert overlay["environment"]["HUB_MEDIA_STORE"] == "s3"
    assert scale["services"]["web"]["ports"] is None  # !reset: nginx publishes the port
    assert "8000:8000" in scale["services"]["proxy"]["ports"]
    volumes = scale["services"]["proxy"]["volumes"]
    assert any(v.startswith("./deploy/nginx.conf:") for v in volumes)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here")
def test_the_nginx_configuration_is_valid(tmp_path: Path) -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    # Outside Compose there is no host named "web"; the rest is checked as it is.
    conf = conf.replace("server web:8000;", "server 127.0.0.1:8000;")
    conf = conf.replace("access_log /dev/stdout hub;", "access_log off;")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n" + conf
    )
    checked = subprocess.run(
        [str(shutil.which("nginx")), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
