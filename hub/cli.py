"""The `hub` command: serve, worker, migrate, create-user, demo."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from hub.config import InsecureSettings, Settings, load_settings

app = typer.Typer(
    help="Partner Hub: publish campaign materials to partner organisations and measure reach.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    try:
        return load_settings()
    except InsecureSettings as exc:
        typer.echo(f"hub: refusing to start: {exc}", err=True)
        raise typer.Exit(2) from exc


def _logging(settings: Settings) -> None:
    from hub.system.logs import configure_logging

    configure_logging(settings)


def _migrate(settings: Settings) -> None:
    from hub.migrate import upgrade

    upgrade(settings.resolved_database_url)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    settings = _settings()
    _logging(settings)
    _migrate(settings)
    typer.echo("hub: database is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run a job worker in this process (default: only with the embedded Redis).",
        ),
    ] = None,
) -> None:
    """Migrate, then run the web app (and, with the embedded Redis, a worker)."""
    from hub.embedded_redis import EmbeddedRedis

    settings = _settings()
    _logging(settings)
    if host or port:
        settings = _with_listen_address(settings, host or settings.host, port or settings.port)
    _migrate(settings)
    # uvicorn re-raises SIGTERM after a graceful shutdown; make that an exit that still runs
    # our cleanup (stopping the embedded Redis) instead of the default instant death.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    embedded = EmbeddedRedis(settings.var_dir) if settings.embedded_redis else None
    try:
        # Inside the try: a SIGTERM or a failed start while Redis comes up must still stop it.
        if embedded is not None:
            settings.redis_url = embedded.start()
            typer.echo("hub: started the embedded Redis (data under var/redis)")
        asyncio.run(
            _serve(
                settings,
                host=host or settings.host,
                port=port or settings.port,
                with_worker=worker if worker is not None else embedded is not None,
            )
        )
    finally:
        if embedded is not None:
            embedded.stop()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _with_listen_address(settings: Settings, host: str, port: int) -> Settings:
    """A --host/--port given on the command line also moves the default base URL."""
    update: dict[str, object] = {"host": host, "port": port}
    if "base_url" not in settings.model_fields_set:
        # A wildcard address is where we listen, not where anyone reaches us.
        shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
        update["base_url"] = f"http://{shown}:{port}"
    return settings.model_copy(update=update)


async def _print_setup_link(settings: Settings) -> None:
    from hub.auth import service
    from hub.db import Database, unit_of_work

    db = Database.from_url(settings.resolved_database_url)
    try:
        async with unit_of_work(db, None) as session:
            link = await service.create_setup_link(
                session, base_url=settings.base_url, ttl=timedelta(hours=settings.setup_link_hours)
            )
    finally:
        await db.dispose()
    if link:
        typer.echo(
            "\n  No users yet. Open this one-time link to create the first administrator\n"
            f"  (valid {settings.setup_link_hours} hours):\n\n  {link}\n",
        )


async def _serve(settings: Settings, *, host: str, port: int, with_worker: bool) -> None:
    import uvicorn

    from hub.main import create_app
    from workers.settings import run_supervised

    await _print_setup_link(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # its loggers go to ours (JSON, no client addresses)
        access_log=False,  # hub.access logs each request, without the client's address
        proxy_headers=True,
        server_header=False,
    )
    server = uvicorn.Server(config)
    worker_task = (
        asyncio.create_task(run_supervised(settings, handle_signals=False)) if with_worker else None
    )
    typer.echo(f"hub: serving on http://{host}:{port}" + (" with a worker" if worker_task else ""))
    try:
        await server.serve()
    finally:
        if worker_task is not None:
            worker_task.cancel()  # the worker closes itself
            await asyncio.gather(worker_task, return_exceptions=True)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Run queued jobs, then exit.")] = False,
) -> None:
    """Run a job worker: it waits out a Redis outage, and stops cleanly on SIGTERM or Ctrl-C."""
    from workers.settings import LOST_REDIS, redis_url_for, run_standalone

    settings = _settings()
    _logging(settings)
    try:
        settings.redis_url = redis_url_for(settings)
    except RuntimeError as exc:
        typer.echo(f"hub: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        asyncio.run(run_standalone(settings, burst=burst))
    except LOST_REDIS as exc:  # only a burst run gives up
        typer.echo(f"hub: the worker lost Redis: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("flush-clicks")
def flush_clicks() -> None:
    """Add the clicks counted in Redis to the daily rollups now (the worker does it every
    twenty seconds)."""
    from hub.state import HubState
    from hub.tracking import rollup
    from hub.tracking.counter import Keys
    from workers.settings import redis_url_for

    settings = _settings()
    _logging(settings)
    try:
        settings.redis_url = redis_url_for(settings)
    except RuntimeError as exc:
        typer.echo(f"hub: {exc}", err=True)
        raise typer.Exit(2) from exc

    async def run() -> rollup.FlushResult:
        state = await HubState.open(settings)
        try:
            return await rollup.flush_clicks(state.db, state.redis, Keys(settings.redis_prefix))
        finally:
            await state.close()

    result = asyncio.run(run())
    typer.echo(
        f"hub: flushed {result.clicks} clicks and {result.previews} previews "
        f"from {result.batches} batches"
    )


@app.command()
def retention() -> None:
    """Delete report photos and download rows older than HUB_RETENTION_DAYS now (the worker
    does it every night); the reach figures made from them are kept."""
    from hub.db import Database
    from workers.system import run_retention

    settings = _settings()
    _logging(settings)
    _migrate(settings)

    async def run() -> dict[str, int]:
        db = Database.from_url(settings.resolved_database_url)
        try:
            return await run_retention(db, settings)
        finally:
            await db.dispose()

    done = asyncio.run(run())
    typer.echo(
        f"hub: deleted {done['photos']} report photos and {done['downloads']} download rows "
        f"older than {settings.retention_days} days"
    )


@app.command("backup")
def backup_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Where to write the .tar.gz (default: var/backups/hub-<time>.tar.gz)."),
    ] = None,
) -> None:
    """Back up the database and the media files into one .tar.gz, while the hub runs."""
    from hub.models import utcnow
    from hub.system.backup import BackupError, backup

    settings = _settings()
    _logging(settings)
    target = path or settings.var_dir / "backups" / f"hub-{utcnow():%Y%m%d-%H%M%S}.tar.gz"
    try:
        done = backup(settings, target)
    except BackupError as exc:
        typer.echo(f"hub: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"hub: backed up the {done.database} database and {done.media_files} media files "
        f"to {target} ({done.size} bytes)"
    )


@app.command("restore")
def restore_command(
    path: Annotated[Path, typer.Argument(help="A .tar.gz made by hub backup.")],
    force: Annotated[bool, typer.Option(help="Replace a database that already has users.")] = False,
) -> None:
    """Put a backup in place of the database and the media files (stop the hub first)."""
    from hub.auth.service import count_users
    from hub.db import Database, unit_of_work
    from hub.system.backup import BackupError, restore

    settings = _settings()
    _logging(settings)
    _migrate(settings)

    async def users() -> int:
        db = Database.from_url(settings.resolved_database_url)
        try:
            async with unit_of_work(db, None, write=False) as session:
                return await count_users(session)
        finally:
            await db.dispose()

    try:
        done = restore(settings, path, force=force, has_users=asyncio.run(users()) > 0)
    except (BackupError, OSError, EOFError) as exc:
        typer.echo(f"hub: {exc}", err=True)
        raise typer.Exit(1) from exc
    _migrate(settings)  # a backup of an older hub: bring its schema up to date
    typer.echo(
        f"hub: restored the {done.database} database and {done.media_files} media files from {path}"
    )


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="The user's e-mail address (their sign-in name).")],
    role: Annotated[str, typer.Option(help="admin, officer or partner.")] = "admin",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    organisation_id: Annotated[
        int | None, typer.Option(help="The organisation of a partner user.")
    ] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when not given; at least 10 characters.",
        ),
    ] = "",
) -> None:
    """Create a user with a password (e.g. the first admin)."""
    from hub.auth import service
    from hub.db import Database, unit_of_work
    from hub.errors import HubError
    from hub.models import Role

    settings = _settings()
    _migrate(settings)
    if role not in {r.value for r in Role}:
        typer.echo("hub: --role must be admin, officer or partner", err=True)
        raise typer.Exit(2)

    async def run() -> int:
        db = Database.from_url(settings.resolved_database_url)
        try:
            async with unit_of_work(db, None) as session:
                user = await service.create_user(
                    session,
                    email=email,
                    role=Role(role),
                    name=name,
                    password=password,
                    organisation_id=organisation_id,
                )
                return user.id or 0
        finally:
            await db.dispose()

    try:
        user_id = asyncio.run(run())
    except HubError as exc:
        problems = "; ".join(e.message for e in exc.errors) or exc.detail
        typer.echo(f"hub: {problems}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"hub: created {role} {email} (id {user_id})")


@app.command()
def demo() -> None:
    """Seed a small demo municipality: areas, partners of each kind, users, a draft campaign."""
    from hub.db import Database, unit_of_work
    from hub.demo import seed

    settings = _settings()
    _migrate(settings)

    async def run() -> list[tuple[str, str, str]]:
        db = Database.from_url(settings.resolved_database_url)
        try:
            async with unit_of_work(db, None) as session:
                return await seed(session)
        finally:
            await db.dispose()

    created = asyncio.run(run())
    if not created:
        typer.echo("hub: the demo data is there already")
        return
    typer.echo("hub: demo municipality seeded. Sign in as:")
    for role, email, password in created:
        typer.echo(f"  {role:8} {email:32} {password}")


import_app = typer.Typer(
    help="Import partners or areas from a CSV file: a dry run unless --commit is given.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

ImportFile = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file."),
]
CommitOption = Annotated[
    bool, typer.Option("--commit", help="Import (all or nothing) instead of a dry run.")
]


@import_app.command("partners")
def import_partners(file: ImportFile, commit: CommitOption = False) -> None:
    """Organisations with their contacts (one row per contact; see tests/data/README.md)."""
    from hub.imports.command import run_import

    settings = _settings()
    _migrate(settings)
    raise typer.Exit(run_import(settings, "partners", file, commit=commit))


@import_app.command("areas")
def import_areas(file: ImportFile, commit: CommitOption = False) -> None:
    """Areas with their vaccination uptake (one row per uptake figure)."""
    from hub.imports.command import run_import

    settings = _settings()
    _migrate(settings)
    raise typer.Exit(run_import(settings, "areas", file, commit=commit))


reports_app = typer.Typer(help="Reach reports.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("rebuild")
def rebuild_reports() -> None:
    """Rebuild every published campaign's reach rollups from the source tables."""
    from hub.db import Database, unit_of_work
    from hub.reports import rollup
    from workers.reports import rebuild

    settings = _settings()
    _logging(settings)
    _migrate(settings)

    async def run() -> tuple[int, int]:
        db = Database.from_url(settings.resolved_database_url)
        try:
            async with unit_of_work(db, None, write=False) as session:
                campaign_ids = await rollup.all_campaigns(session)
            return len(campaign_ids), await rebuild(db, campaign_ids)
        finally:
            await db.dispose()

    campaigns, rows = asyncio.run(run())
    typer.echo(f"hub: rebuilt the reach rollups of {campaigns} campaigns ({rows} rows)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
