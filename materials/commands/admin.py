"""`flask --app app …` commands: release, users create, worker, sweep, demo."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from materials.errors import Problem
from materials.platform.deps import get_deps


def init_app(app: Flask) -> None:
    app.cli.add_command(release)
    app.cli.add_command(users)
    app.cli.add_command(worker)
    app.cli.add_command(sweep)
    app.cli.add_command(demo)


@click.command()
@with_appcontext
def release() -> None:
    """Create or migrate the data store (safe to run again)."""
    from materials.platform import migrate

    deps = get_deps(current_app)
    migrate.upgrade(deps.db)
    click.echo("database is at the latest schema")
    deps.storage.ensure()
    click.echo(f"storage is ready ({deps.storage.backend})")


@click.group(cls=AppGroup)
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["ops", "seller", "storefront"]), required=True)
@click.option("--password", default=None, help="Also allow signing in to the web pages.")
def users_create(name: str, role: str, password: str | None) -> None:
    """Create a user; prints one JSON line with its id, bearer token (and referral code)."""
    from materials.accounts import create_user

    try:
        user, token = create_user(get_deps(current_app).db, name, role, password)
    except Problem as exc:
        raise click.ClickException(exc.detail) from None
    out = {"id": user.id, "name": user.name, "role": user.role, "token": token}
    if user.referral_code:
        out["referral_code"] = user.referral_code
    click.echo(json.dumps(out, ensure_ascii=False))


@click.command()
@click.option("--workers", type=int, default=None, help="Threads (default SUCAI_WORKERS).")
@with_appcontext
def worker(workers: int | None) -> None:
    """Run the media worker: renditions, transcodes, orphan sweeps."""
    from materials.catalogue.leases import Reaper

    deps = get_deps(current_app)
    # The reaper hands the queue again what a dead process left stuck (leases.py); it starts
    # first, so a restarted worker picks up its predecessor's jobs straight away.
    Reaper(deps).start()
    deps.queue.consumer(workers or deps.settings.WORKERS).run()


@click.command()
@with_appcontext
def sweep() -> None:
    """Delete stored files no row refers to (older than SUCAI_ORPHAN_GRACE_SECONDS)."""
    from materials.catalogue.renditions import sweep_orphans

    click.echo(f"removed {sweep_orphans(get_deps(current_app))} orphan files")


@click.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when materials exist already.")
@with_appcontext
def demo(if_empty: bool) -> None:
    """Create demo users and materials (photos drawn with Pillow, a clip made with ffmpeg)."""
    from materials.commands.demo import load_demo

    for line in load_demo(get_deps(current_app), if_empty=if_empty):
        click.echo(line)
