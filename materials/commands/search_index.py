"""`flask --app app indexer` and `flask --app app search …`."""

from __future__ import annotations

import json
import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from whoosh import index as whoosh_index

from materials.platform.deps import get_deps


def init_app(app: Flask) -> None:
    app.cli.add_command(indexer)
    app.cli.add_command(search_commands)


def _follower():
    from materials.indexing.follower import Follower

    return Follower.for_deps(get_deps(current_app))


@click.command()
@with_appcontext
def indexer() -> None:
    """Follow the change log into this node's search index (run one per node)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    # SIGTERM (process managers) and SIGINT (Ctrl-C) end the loop between commits. SIGKILL
    # cannot be caught and needs nothing: the position is committed with the documents.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    _follower().run(stop)
    click.echo("indexer stopped")


@click.group("search", cls=AppGroup)
def search_commands() -> None:
    """Manage this node's search index."""


@search_commands.command("rebuild")
@click.option("--procs", type=int, default=1, help="Analyse in this many processes.")
def rebuild(procs: int) -> None:
    """Rebuild the index from the database (safe while the indexer runs)."""
    from materials.indexing.follower import open_index

    follower = _follower()
    follower.index, _ = open_index(follower.path)
    if procs > 1:
        # whoosh forks its sub-writers: they must not inherit open database connections.
        follower.db.dispose()
    click.echo(f"indexed {follower.rebuild(procs=procs)} materials")


@search_commands.command("status")
def status() -> None:
    """Print the recorded position, the log head and how many materials are stale."""
    from materials.indexing.documents import live_versions
    from materials.indexing.follower import log_head, read_state
    from search import SearchIndex

    follower = _follower()
    if not whoosh_index.exists_in(str(follower.path)):
        raise click.ClickException(f"no search index at {follower.path}")
    position, indexed = read_state(SearchIndex.open_or_create(follower.path))
    with follower.db.read() as s:
        wanted, head = live_versions(s), log_head(s)
    stale = sum(1 for i, v in wanted.items() if indexed.get(i) != v)
    stale += len(indexed.keys() - wanted.keys())
    out = {"position": position, "log_head": head, "documents": len(indexed), "stale": stale}
    click.echo(json.dumps(out))
