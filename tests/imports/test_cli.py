"""`hub import partners|areas FILE [--commit]` on a fresh SQLite file (the command migrates)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from tests.imports.conftest import DATA

SECRET = "cli-import-secret-" + "s" * 32


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in [k for k in os.environ if k.startswith("HUB_")]:
        monkeypatch.delenv(name)
    return {
        "HUB_ENV": "production",
        "HUB_SECRET_KEY": SECRET,
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        "HUB_REDIS_URL": "redis://127.0.0.1:1/0",  # never used: imports enqueue no jobs
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_DEFAULT_LANGUAGE": "en",
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }


def hub(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rows(env: dict[str, str], table: str) -> int:
    path = env["HUB_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        query = f'SELECT count(*) FROM "{table}"'  # noqa: S608 - the tests' own table names
        count: int = connection.execute(query).fetchone()[0]
    return count


def test_dry_run_commit_and_repeat(hub_env: dict[str, str]) -> None:
    areas = str(DATA / "areas_uptake.csv")
    code, out, _err = hub(hub_env, "import", "areas", areas)
    assert code == 0
    assert out.splitlines() == [
        "Read 13 rows; encoding utf-8, delimiter ;.",
        "6 areas: 6 to create, 0 to update, 0 unchanged",
        "11 uptake figures: 11 to create, 0 to update, 0 unchanged",
        "This was a dry run. Run again with --commit to import.",
    ]
    assert rows(hub_env, "area") == 0

    code, out, _err = hub(hub_env, "import", "areas", areas, "--commit")
    assert code == 0
    assert "6 areas: 6 created, 0 updated, 0 unchanged" in out and out.endswith("Imported.\n")
    assert (rows(hub_env, "area"), rows(hub_env, "area_uptake")) == (6, 11)

    partners = str(DATA / "partners_semicolon_cp1252.csv")
    code, out, _err = hub(hub_env, "import", "partners", partners, "--commit")
    assert code == 0
    assert "5 organisations: 5 created, 0 updated, 0 unchanged" in out
    assert "5 contacts: 5 created, 0 updated, 0 unchanged" in out
    assert "invite them" in out

    code, out, _err = hub(hub_env, "import", "partners", partners, "--commit")
    assert code == 0
    assert "5 organisations: 0 created, 0 updated, 5 unchanged" in out
    assert (rows(hub_env, "organisation"), rows(hub_env, "user")) == (5, 5)


def test_errors_are_listed_and_refused_on_commit(hub_env: dict[str, str]) -> None:
    hub(hub_env, "import", "areas", str(DATA / "areas_uptake.csv"), "--commit")
    errors = str(DATA / "partners_with_errors.csv")
    code, out, _err = hub(hub_env, "import", "partners", errors)
    assert code == 0  # a dry run reports; it does not fail
    assert "10 errors:" in out
    assert "  line 9, column external_id: Every row needs the organisation's external id." in out
    assert "Correct the errors before importing with --commit." in out

    code, out, err = hub(hub_env, "import", "partners", errors, "--commit")
    assert code == 1
    assert "  line 13, column contact_email: A contact needs an e-mail address." in out
    assert "Nothing was imported." in err
    assert rows(hub_env, "organisation") == 0


def test_usage_errors(hub_env: dict[str, str], tmp_path: Path) -> None:
    code, _out, err = hub(hub_env, "import", "partners", str(tmp_path / "missing.csv"))
    assert code == 2 and "does not exist" in " ".join(err.replace("│", " ").split())
    code, out, _err = hub(hub_env, "import")
    assert code == 2 and "partners" in out and "areas" in out
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, out, _err = hub(hub_env, "import", "areas", str(empty), "--commit")
    assert code == 1 and "The file is empty." in out
    headerless = tmp_path / "list.csv"
    headerless.write_text("Partnerliste;2024\nA;B\n", encoding="utf-8")
    code, out, _err = hub(hub_env, "import", "partners", str(headerless))
    assert code == 0
    assert out.splitlines()[0] == "The file could not be read."
    assert (
        "  line 1: Not a header this import knows. Expected columns such as: external_id, "
        "name, kind." in out.splitlines()
    )
