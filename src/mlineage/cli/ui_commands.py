"""`mlineage ui`: the web UI over the project's own store, for one user on this machine."""

from __future__ import annotations

import click

from .options import STORE_OPTION


@click.command("ui")
@STORE_OPTION
@click.option("--port", default=8471, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="Open the page in the default browser.")
def ui_command(store_uri: str | None, port: int, open_browser: bool) -> None:
    """Browse this project's lineage in a web browser (http://127.0.0.1:PORT).

    Serves the same pages as `mlineage server` on the embedded store, without tokens: it listens on the
    loopback interface only, so only this machine's user reaches it. For a team, run `mlineage server`."""
    import threading
    import webbrowser

    from ..config import load_settings
    from ..errors import ConfigError
    from ..extras import server_runtime

    uvicorn = server_runtime("mlineage ui")
    from ..server import create_app

    settings = load_settings()
    uri = store_uri or settings.store_uri
    if uri.startswith(("http://", "https://")):
        raise ConfigError(f"this project's store is a server ({uri}): open {uri.rstrip('/')}/ in a browser")
    app = create_app(uri, settings.artifacts_uri, auth=False)
    url = f"http://127.0.0.1:{port}/"
    click.echo(f"mlineage ui on {url} (this machine only; Ctrl-C stops it)", err=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


COMMANDS = [ui_command]
