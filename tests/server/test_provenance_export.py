"""A provenance export through a team server (MLINEAGE_URI=http://...) is the very document the server's own
store exports: PROV-JSON, the ML-BOM and the attestation's statement."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlineage.cli.main import cli
from tests.provenance.conftest import build_pipeline

from .conftest import ServerProcess, admin_token


def test_remote_export_gives_the_same_documents(server: ServerProcess, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage.provenance import keys
    from mlineage.sdk.client import Client

    local = Client.for_uri(server.store_uri, server.artifacts)
    pipeline = build_pipeline(local, tmp_path / uuid.uuid4().hex[:8])
    monkeypatch.setenv("MLINEAGE_TOKEN", admin_token(server.store_uri))
    remote = Client.for_uri(server.url, tmp_path / "remote-objects")
    ref = str(pipeline.model.digest)
    key = keys.load_private(keys.generate(tmp_path / "keys", "ed25519").private)
    try:
        for fmt in ("prov-json", "prov-n", "cyclonedx"):
            assert remote.export_provenance(ref, fmt) == local.export_provenance(ref, fmt), fmt
        env = {"MLINEAGE_URI": server.url, "MLINEAGE_TOKEN": os.environ["MLINEAGE_TOKEN"],
               "MLINEAGE_ARTIFACTS": str(tmp_path / "cli-objects")}
        out = tmp_path / "bom.json"
        done = CliRunner().invoke(cli, ["export", "--format", "cyclonedx", "clf", "-o", str(out)], env=env)
        assert done.exit_code == 0, done.output
        assert out.read_text() == local.export_provenance("clf", "cyclonedx")
        statements = [json.loads(base64.b64decode(c.attest(ref, key)["payload"])) for c in (local, remote)]
        assert statements[0] == statements[1]
        assert statements[0]["subject"][0]["digest"]["sha256"] == pipeline.model.digest.hex
    finally:
        remote.close()
        local.close()
