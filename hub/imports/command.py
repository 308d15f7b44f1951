"""`hub import partners|areas FILE [--commit]`: the import from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from hub.config import Settings
from hub.context import Actor, handling
from hub.db import Database, unit_of_work
from hub.errors import HubError
from hub.i18n import _, use_language
from hub.imports import service
from hub.imports.csvfile import MAX_BYTES
from hub.imports.schemas import ImportFormat, ImportPlan, summary_lines
from hub.system.logs import new_request_id

COMMAND_LINE = Actor(None, "hub import (command line)")


async def _run(settings: Settings, fmt: ImportFormat, content: bytes, commit: bool) -> ImportPlan:
    db = Database.from_url(settings.resolved_database_url)
    try:
        with handling(new_request_id(), COMMAND_LINE):
            return await _import(db, fmt, content, commit)
    finally:
        await db.dispose()


async def _import(db: Database, fmt: ImportFormat, content: bytes, commit: bool) -> ImportPlan:
    async with unit_of_work(db, None, write=commit) as session:
        if fmt == "partners":
            if commit:
                return await service.apply_partners(session, content, principal=None)
            return await service.plan_partners(session, content)
        if commit:
            return await service.apply_areas(session, content, principal=None)
        return await service.plan_areas(session, content)


def run_import(settings: Settings, fmt: ImportFormat, path: Path, *, commit: bool) -> int:
    """Print the plan (and import with ``commit``); the exit code: 1 when nothing was imported
    because of errors, else 0. The schema must be migrated already."""
    with use_language(settings.default_language):
        if path.stat().st_size > MAX_BYTES:
            typer.echo(
                _("The file is larger than %(size)d MiB. Split it into smaller files.")
                % {"size": MAX_BYTES // (1024 * 1024)},
                err=True,
            )
            return 1
        content = path.read_bytes()
        try:
            plan = asyncio.run(_run(settings, fmt, content, commit))
        except service.ImportRejected as exc:
            for line in summary_lines(exc.plan):
                typer.echo(line)
            typer.echo(
                _("Nothing was imported. Correct the errors and run the import again."), err=True
            )
            return 1
        except HubError as exc:  # e.g. a concurrent change the plan could not foresee
            typer.echo(f"hub: {exc.detail}", err=True)
            return 1
        for line in summary_lines(plan):
            typer.echo(line)
        if plan.committed:
            typer.echo(_("Imported."))
        elif plan.errors:
            typer.echo(_("This was a dry run. Correct the errors before importing with --commit."))
        else:
            typer.echo(_("This was a dry run. Run again with --commit to import."))
        return 0
