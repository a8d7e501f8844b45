"""Model versions for registry and serving tests: small distinct weight files, registered in order."""

from __future__ import annotations

from pathlib import Path

from mlineage.sdk.client import Client


def register_models(client: Client, folder: Path, name: str, n: int) -> list[dict]:
    """``name@1`` .. ``name@n``, each a file of its own bytes."""
    out = []
    for i in range(n):
        path = folder / f"{name}-{i}.bin"
        path.write_text(f"{name} weights {i}\n")
        out.append(client.register_model(str(path), name))
    return out
