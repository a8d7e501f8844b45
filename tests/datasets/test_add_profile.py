"""``add`` profiles a tabular file from the bytes it hashes, records the profile with the version, and leaves
other files alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlineage.datasets import engine
from mlineage.datasets.records import records_for
from mlineage.datasets.service import compute_profile, stored_profile
from tests.data.conftest import workspace

from .helpers import side, table, write


def _inline_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the in-memory tables DuckDB was handed."""
    seen: list[int] = []
    real = engine.register_inline

    def spy(con: Any, src: Any) -> None:
        seen.append(len(src.inline))
        real(con, src)

    monkeypatch.setattr(engine, "register_inline", spy)
    return seen


def test_add_profiles_tabular_files_from_the_hashed_bytes(
    sqlite_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _inline_reads(monkeypatch)
    data = write(sqlite_project / "t.parquet", table({"id": [1, 2, 3], "x": [0.5, None, 2.0]}))
    csv = write(sqlite_project / "t.csv", table({"k": ["a", "b", "a"]}), delimiter=";")
    (sqlite_project / "blob.bin").write_bytes(b"\0" * 64)
    (sqlite_project / "bad.jsonl").write_text("not json\n")  # added all the same, without a profile
    ws = workspace()
    try:
        results = ws.add(["t.parquet", "t.csv", "blob.bin", "bad.jsonl"], quiet=True)
        client = ws.client
        by_name = {r.name: r for r in results}
        for path, name in ((data, "t.parquet"), (csv, "t.csv")):
            stored = stored_profile(client, str(by_name[name].digest))
            assert stored is not None
            assert stored.to_bytes() == compute_profile(side(path)).to_bytes()  # the same as from disk
        for name in ("blob.bin", "bad.jsonl"):
            assert by_name[name].version == 1 and stored_profile(client, str(by_name[name].digest)) is None
        assert sorted(seen) == sorted([data.stat().st_size, csv.stat().st_size])  # read from memory
    finally:
        ws.close()


def test_add_without_profiles(sqlite_project: Path) -> None:
    config = sqlite_project / ".mlineage" / "config.toml"
    config.write_text(config.read_text() + "\n[datasets]\nprofile = false\n")
    write(sqlite_project / "t.parquet", table({"id": [1, 2]}))
    ws = workspace()
    try:
        [r] = ws.add(["t.parquet"], quiet=True)
        assert records_for(ws.client.store).profile(str(r.digest)) is None
    finally:
        ws.close()


def test_the_module_duckdb_reads_bytes_through_is_a_core_dependency() -> None:
    """DuckDB hands an in-memory file to fsspec and raises when it is missing; the test venv has it through
    torch, a wheel installed with the core dependencies did not, and every ``add`` of a table warned that it
    was added without a profile."""
    import importlib.metadata
    import re

    core = [r for r in importlib.metadata.requires("mlineage") or [] if "extra ==" not in r]
    assert any(re.match(r"fsspec\b", r) for r in core), core
    lock = (Path(__file__).parents[2] / "requirements.lock").read_text()
    assert re.search(r"^fsspec==", lock, re.MULTILINE)
