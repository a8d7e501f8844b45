"""The web UI in Chromium: time to the first frame showing a model whose ancestry has 10,000 nodes (server
layout + canvas render), and opening a group of 1,000 inputs, against cytoscape.js laying out and drawing the
same graph in the same browser.

The pages' own Performance API marks are read (``mlineage-frame``: two animation frames after the view was
drawn, so the canvas is on screen): first paint is measured from navigation start (request, server walk,
layout, JSON, drawing); the expansion from the click to the frame after the new view. The peer gets the graph
already in memory (node and edge lists, no positions) and is timed from ``cytoscape()`` to two frames after
its first render, so it pays only for layout and drawing: the comparison favours it.

The peer's library comes from a local npm install under bench/.work/ui-peer (not committed; the package
installs without Node). Needs /usr/bin/chromium and the playwright package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from . import graphgen
from .harness import REPO, Result, workdir

CHROMIUM = os.environ.get("MLINEAGE_TEST_CHROMIUM", "/usr/bin/chromium")
ANCESTRY = 10_000
WIDTH = 500  # nodes per generated layer: 20 layers of 500, then the model
FAN_IN = 1_000
PEER_TIMEOUT_MS = 120_000


def layered_ancestry(n: int, width: int, seed: int = 11) -> graphgen.Shape:
    """``n`` nodes in layers of ``width``; each node after the first layer derives from 2 random nodes of the
    layer before; one last node (the model, index ``n``) derives from the whole last layer, so its ancestry
    is all ``n`` nodes."""
    rng = np.random.default_rng(seed)
    child = np.repeat(np.arange(width, n, dtype=np.int64), 2)
    parent = (child // width - 1) * width + rng.integers(0, width, len(child))
    parent[::2] = child[::2] - width  # the node in the same column: every node has a child in the next layer
    pairs = np.unique(np.stack([parent, child], axis=1), axis=0)
    last = np.arange(n - width, n, dtype=np.int64)
    parent = np.concatenate([pairs[:, 0], last])
    child = np.concatenate([pairs[:, 1], np.full(width, n, np.int64)])
    return graphgen.Shape(n + 1, parent, child)


def fan_in(n: int) -> graphgen.Shape:
    """Node 0 derives from nodes 1..n."""
    return graphgen.Shape(n + 1, np.arange(1, n + 1, dtype=np.int64), np.zeros(n, np.int64))


def _server(uri: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    import httpx

    # answers are computed for every request (the query cache off), so a repeated view measures the walk,
    # the layout and the JSON, not a cache hit; the graph snapshot stays warm as on a running server
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               MLINEAGE_SERVER_QUERY_CACHE="0")
    proc = subprocess.Popen([sys.executable, "-m", "mlineage.cli.main", "server", "--no-auth", "--store", uri,
                             "--artifacts", str(folder / "objects"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mark(page: Any, name: str) -> float:
    return float(page.evaluate("(n) => { const e = performance.getEntriesByName(n); return e.length ? "
                               "e[e.length - 1].startTime : -1; }", name))


def _first_paint(page: Any, url: str) -> tuple[float, int]:
    page.goto(url)
    page.wait_for_function("() => performance.getEntriesByName('mlineage-frame').length > 0", timeout=120_000)
    return _mark(page, "mlineage-frame"), int(page.evaluate("() => window.mlineageUI.view.nodes.length"))


def _peer_page(peer: Path) -> str:
    return f"""<!doctype html><html><body style="margin:0">
<div id="cy" style="width:1280px;height:760px"></div>
<script src="file://{peer / 'node_modules/cytoscape/dist/cytoscape.min.js'}"></script>
<script src="file://{peer / 'node_modules/dagre/dist/dagre.min.js'}"></script>
<script src="file://{peer / 'node_modules/cytoscape-dagre/dist/cytoscape-dagre.js'}"></script>
</body></html>"""


PEER_RUN = """async ([graph, layout]) => {
  const elements = graph.nodes.map((n) => ({ data: { id: n.key, label: n.label } }))
    .concat(graph.edges.map((e, i) => ({ data: { id: 'e' + i, source: e.source, target: e.target } })));
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const t0 = performance.now();
  const cy = cytoscape({ container: document.getElementById('cy'), elements,
    layout: layout === 'dagre' ? { name: 'dagre', rankDir: 'LR' } : { name: layout },
    style: [{ selector: 'node', style: { label: 'data(label)', shape: 'round-rectangle' } }] });
  await frame();
  const ms = performance.now() - t0;
  cy.destroy();
  return ms;
}"""


def _peer(browser: Any, peer: Path, graph: dict[str, Any], layout: str) -> float | str:
    """Milliseconds to the peer's first frame, or why it gave none."""
    html = workdir("ui") / "peer.html"
    html.write_text(_peer_page(peer))
    page = browser.new_page(viewport={"width": 1280, "height": 760})
    page.set_default_timeout(PEER_TIMEOUT_MS)
    try:
        page.goto(html.as_uri())
        return float(page.evaluate(PEER_RUN, [graph, layout]))
    except Exception as exc:  # noqa: BLE001 (a peer that fails or does not finish is reported as such)
        print(f"  cytoscape {layout}: did not finish ({type(exc).__name__}: {str(exc)[:300]})",
              file=sys.stderr)
        text = str(exc)
        return "stack overflow" if "call stack" in text else "> 120 s" if "Timeout" in text else "failed"
    finally:
        page.close()


def run(quick: bool) -> list[Result]:
    from playwright.sync_api import sync_playwright

    from mlineage.stores.sql import SqlStore

    folder = workdir("ui")
    db = folder / "ui.db"
    for stale in folder.glob("ui.db*"):
        if stale.is_file():
            stale.unlink()
    uri = f"sqlite:///{db}"
    store = SqlStore(uri)
    try:
        graphgen.insert(store, layered_ancestry(ANCESTRY, WIDTH), "ui-ancestry", kind="dataset")
        graphgen.insert(store, fan_in(FAN_IN), "ui-fan-in", kind="dataset")
    finally:
        store.close()
    model = graphgen.digest_of("ui-ancestry", ANCESTRY)
    fan_root = graphgen.digest_of("ui-fan-in", 0)
    port = _free_port()
    server = _server(uri, folder, port)
    base = f"http://127.0.0.1:{port}"
    peer = REPO / "bench" / ".work" / "ui-peer"
    results: list[Result] = []
    repeat = 1 if quick else 3
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            full_url = f"{base}/lineage/{quote(model, safe='')}?depth=100&group_min=20000&max_nodes=20000"
            _first_paint(page, full_url)  # warm: the server's snapshot and the browser's caches
            full = [_first_paint(page, full_url) for _ in range(repeat)]
            grouped = [_first_paint(page, f"{base}/lineage/{quote(model, safe='')}") for _ in range(repeat)]
            expand = []
            for _ in range(repeat):
                _first_paint(page, f"{base}/lineage/{quote(fan_root, safe='')}")
                group = page.evaluate(
                    "() => window.mlineageUI.view.nodes.find((n) => n.type === 'group').key")
                x, y = page.evaluate("(k) => window.mlineageUI.screenOf(k)", group)
                page.mouse.click(x, y)
                page.wait_for_function(f"() => window.mlineageUI.view.nodes.length > {FAN_IN}")
                page.wait_for_function("() => performance.getEntriesByName('mlineage-frame').length > 1")
                expand.append(_mark(page, "mlineage-frame") - _mark(page, "mlineage-click"))
            page.goto(full_url)
            page.wait_for_function("() => performance.getEntriesByName('mlineage-frame').length > 0")
            graph = page.evaluate("() => ({nodes: window.mlineageUI.view.nodes.map((n) => ({key: n.key, "
                                  "label: n.label})), edges: window.mlineageUI.view.edges})")
            nodes = full[0][1]
            ours = min(t for t, _ in full)
            peers: dict[str, float | str] = {}
            if (peer / "node_modules" / "cytoscape").is_dir():
                for layout in ("breadthfirst", "dagre"):
                    peers[layout] = _peer(browser, peer, graph, layout)
            else:
                print("  no cytoscape under bench/.work/ui-peer: run `npm install cytoscape cytoscape-dagre "
                      "dagre` there for the peer", file=sys.stderr)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    whole = f"UI first paint, {nodes:,}-node ancestry drawn whole (server layout + canvas)"
    for layout in ("breadthfirst", "dagre"):
        found = peers.get(layout)
        results.append(Result(whole, ours, _peer_name(peers, layout),
                              found if isinstance(found, float) else None, "ms", False, "< 2,000 ms",
                              ours < 2000))
    first_grouped = min(t for t, _ in grouped)
    results.append(Result(f"UI first paint, same ancestry grouped (default view, {grouped[0][1]} nodes)",
                          first_grouped, "-", None, "ms", False, "< 2,000 ms", first_grouped < 2000))
    results.append(Result(f"UI open a group of {FAN_IN:,} inputs (click to frame)", min(expand), "-", None,
                          "ms", False, "< 500 ms", min(expand) < 500))
    return results


def _peer_name(peers: dict[str, float | str], layout: str) -> str:
    if layout not in peers:
        return "cytoscape.js (not installed)"
    found = peers[layout]
    name = f"cytoscape.js 3 {layout} layout, whole graph"
    return name if isinstance(found, float) else f"{name} ({found})"
