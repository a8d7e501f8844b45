"""Team-server commands: `server`, `sync`, `token create/revoke/list`. Heavy imports stay in the bodies."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from .options import JSON_OPTION, STORE_OPTION
from .output import emit_json


@contextlib.contextmanager
def _listener_without_nagle() -> Iterator[None]:
    """Make uvicorn's shared listening socket (``--workers N``) hand out connections with TCP_NODELAY.

    With one process uvicorn binds through asyncio, which sets TCP_NODELAY on every connection; with several
    it binds one socket itself and asyncio does not (the socket's protocol number is 0), so each response,
    written as headers then body, waits for the client's delayed ACK of the headers: about 40 ms a request.
    Linux copies the option from a listening socket to the connections it accepts."""
    import socket

    from uvicorn.config import Config

    original = Config.bind_socket

    def bind_socket(self: Config) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    Config.bind_socket = bind_socket  # type: ignore[method-assign]
    try:
        yield
    finally:
        Config.bind_socket = original  # type: ignore[method-assign]


@click.command("server")
@STORE_OPTION
@click.option("--artifacts", metavar="PATH", envvar="MLINEAGE_SERVER_ARTIFACTS",
              help="Artifact store (a folder or s3://bucket/prefix). Default: the project's objects folder.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--auth/--no-auth", default=True, show_default=True,
              help="Require API tokens (--no-auth: one trusted user, every caller is an admin).")
@click.option("--max-body-mb", type=click.IntRange(min=1),
              help="Largest JSON request body accepted (413 above it). Default: derived from the value limit "
                   "MLINEAGE_MAX_VALUE_BYTES shared with the SDK (16 MiB for the default 64 KiB).")
@click.option("--no-worker", is_flag=True, help="Do not project queued events in this process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (reads scale with them; one of them projects queued events at a time).")
@click.option(
    "--checkpoint-key",
    metavar="PEM",
    envvar="MLINEAGE_SERVER_CHECKPOINT_KEY",
    help="Ed25519 private key that signs checkpoints (created when missing). Default: a key kept in "
    "the database.",
)
def server_command(
    store_uri: str | None,
    artifacts: str | None,
    host: str,
    port: int,
    auth: bool,
    max_body_mb: int | None,
    no_worker: bool,
    workers: int,
    checkpoint_key: str | None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json) over a SQL store."""
    import os

    from ..extras import server_runtime

    uvicorn = server_runtime("mlineage server")

    if checkpoint_key:
        os.environ["MLINEAGE_SERVER_CHECKPOINT_KEY"] = checkpoint_key  # every worker process reads it

    from ..config import load_settings
    from ..limits import max_body_bytes
    from ..server import create_app

    max_body = max_body_mb * 1024 * 1024 if max_body_mb else max_body_bytes()
    if store_uri is None or artifacts is None:
        settings = load_settings()
        store_uri = store_uri or settings.store_uri
        artifacts = artifacts or settings.artifacts_uri
    click.echo(
        f"mlineage server on http://{host}:{port} (auth {'on' if auth else 'OFF'}, {workers} process(es))",
        err=True,
    )
    if workers > 1:
        import tempfile

        from ..server.head import FILE_ENV as HEAD_FILE_ENV

        # the processes' shared head signal (server/head.py)
        signal_dir = tempfile.TemporaryDirectory(prefix="mlineage-server-")
        os.environ.update(
            {
                HEAD_FILE_ENV: os.path.join(signal_dir.name, "head"),
                "MLINEAGE_SERVER_STORE": store_uri,
                "MLINEAGE_SERVER_ARTIFACTS": str(artifacts),
                "MLINEAGE_SERVER_AUTH": "1" if auth else "0",
                "MLINEAGE_SERVER_WORKER": "0" if no_worker else "1",
                "MLINEAGE_SERVER_MAX_BODY": str(max_body),
            }
        )
        from ..stores.sql import SqlStore

        SqlStore(store_uri).close()  # migrate once, before the processes start
        with signal_dir, _listener_without_nagle():
            uvicorn.run(
                "mlineage.server.app:app_from_environment",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
            )
        return
    app = create_app(store_uri, artifacts, auth=auth, worker=not no_worker, max_body=max_body)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@click.command("sync")
@JSON_OPTION
def sync_command(as_json: bool) -> None:
    """Ship the local event spool and queued blobs to the server now (MLINEAGE_URI=http(s)://...).

    Exits 1 when the server refuses events (now or in an earlier run: they wait in rejected.jsonl) or cannot
    be reached, or queued blobs cannot be uploaded, so a script or CI job never mistakes a partial sync for a
    complete one."""
    from ..config import load_settings
    from ..errors import ConfigError
    from ..stores.remote import RemoteStore

    settings = load_settings(auto_init=False)
    if not settings.store_uri.startswith(("http://", "https://")):
        raise ConfigError("`mlineage sync` ships the spool to a server: set MLINEAGE_URI=http(s)://server")
    store = RemoteStore(settings.store_uri)
    try:
        result = store.flush(quiet=False)
    finally:
        store._http.close()
    result["rejected_total"] = store.spool.rejected()
    result.update(_ship_blobs(settings.artifacts_uri))
    if as_json:
        emit_json(result)
    else:
        click.echo(f"shipped {result['shipped']} event(s), {result['rejected']} rejected, "
                   f"{result['pending']} pending")
        if result["blobs_shipped"] or result["blobs_pending"]:
            click.echo(f"shipped {result['blobs_shipped']} blob(s), {result['blobs_pending']} pending")
    if result["rejected_total"]:
        click.echo(
            f"error: the server refused {result['rejected_total']} event(s), kept with the reasons in "
            f"{store.spool.rejected_path}: they are not recorded on the server. Fix them and append them "
            f"again, then delete that file. First refusal: {store.spool.first_rejection()}",
            err=True,
        )
        raise SystemExit(1)


def _ship_blobs(artifacts_uri: str) -> dict[str, int]:
    """Upload the blobs queued while the server was down (when the server is the artifact store)."""
    from ..config import is_server_uri

    if not is_server_uri(artifacts_uri):
        return {"blobs_shipped": 0, "blobs_pending": 0}
    from ..blobs.http import HttpBlobStore
    from ..errors import StoreUnavailableError

    blobs = HttpBlobStore(artifacts_uri)
    try:
        shipped, pending = blobs.drain()
        if pending:
            blobs.check()  # say why nothing moved
            raise StoreUnavailableError(f"{pending} queued blob(s) could not be uploaded to {artifacts_uri}; "
                                        "run `mlineage sync` again")
    finally:
        blobs.close()
    return {"blobs_shipped": shipped, "blobs_pending": pending}


@click.group("token")
def token_group() -> None:
    """Create, list and revoke API tokens (stored hashed in the server's database)."""


def _tokens(store_uri: str | None):  # type: ignore[no-untyped-def]
    from ..config import load_settings
    from ..server.auth import TokenStore
    from ..stores.sql import SqlStore

    uri = store_uri or load_settings().store_uri
    if uri.startswith(("http://", "https://")):
        from ..errors import ConfigError

        raise ConfigError("token commands act on the server's database: pass --store postgresql://... or sqlite:///")
    store = SqlStore(uri)
    return TokenStore(store.engine, store)


@token_group.command("create")
@click.argument("name")
@click.option(
    "--scopes", default="read,write", show_default=True, help="Comma-separated: read, write, admin."
)
@click.option("--namespace", default="default", show_default=True, help="The team namespace ('*' = all).")
@STORE_OPTION
@JSON_OPTION
def token_create(name: str, scopes: str, namespace: str, store_uri: str | None, as_json: bool) -> None:
    """Create a token NAME; the secret is printed once and stored only as a hash."""
    token, record = _tokens(store_uri).create(name, scopes, namespace)
    if as_json:
        emit_json(dict(record, token=token))
        return
    click.echo(token)
    click.echo(
        f"token {record['id']} ({','.join(record['scopes'])} in {namespace}): shown once, keep it safe",
        err=True,
    )


@token_group.command("list")
@STORE_OPTION
@JSON_OPTION
def token_list(store_uri: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    found = _tokens(store_uri).list()
    if as_json:
        emit_json(found)
        return
    for t in found:
        state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
        click.echo(f"{t['id']}  {t['name']}  {','.join(t['scopes'])}  ns={t['namespace']}  {state}")
    if not found:
        click.echo("no tokens")


@token_group.command("revoke")
@click.argument("token_id")
@STORE_OPTION
@JSON_OPTION
def token_revoke(token_id: str, store_uri: str | None, as_json: bool) -> None:
    """Revoke the token with id TOKEN_ID (from `mlineage token list`)."""
    record = _tokens(store_uri).revoke(token_id)
    if as_json:
        emit_json(record)
        return
    click.echo(f"revoked {record['id']} ({record['name']})")


COMMANDS = [server_command, sync_command, token_group]
