"""The Python API: ``mlineage.diff(a, b)`` and ``mlineage.Dataset("name")``, over the default Client (or one
given), so a notebook gets what ``mlineage diff``, ``profile``, ``drift`` and ``versions`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sdk.client import Client
    from .drift import DriftReport
    from .model import DatasetDiff
    from .profile import Profile


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from ..sdk.client import default_client

    return default_client()


def diff(
    a: str, b: str, *, key: str | Sequence[str] | None = None, rows: int = 5, client: Client | None = None
) -> DatasetDiff:
    """The schema and row diff of two dataset versions, files or folders (any REF ``mlineage diff`` takes);
    ``key``: the column(s) that identify a row."""
    keys = [key] if isinstance(key, str) else list(key) if key else None
    return _client(client).dataset_diff(a, b, key=keys, samples=rows)


class Dataset:
    """A named dataset: its versions (with semantic versions, rows, who and when), profiles and drift."""

    def __init__(self, name: str, *, client: Client | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Client:
        return _client(self._client)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r})"

    def ref(self, version: int | str | None = None) -> str:
        return self.name if version is None else f"{self.name}@{version}"

    def versions(self) -> list[dict[str, Any]]:
        """Every version, oldest first (the rows of ``mlineage versions NAME --json``)."""
        return self.client.dataset_versions(self.name)

    def profile(self, version: int | str | None = None) -> Profile:
        """The profile of a version (the latest by default), computed and stored if it has none."""
        return self.client.profile(self.ref(version))

    def diff(
        self,
        old: int | str,
        new: int | str | None = None,
        *,
        key: str | Sequence[str] | None = None,
        rows: int = 5,
    ) -> DatasetDiff:
        return diff(self.ref(old), self.ref(new), key=key, rows=rows, client=self.client)

    def drift(
        self,
        old: int | str,
        new: int | str | None = None,
        *,
        columns: Sequence[str] | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> DriftReport:
        return self.client.drift(self.ref(old), self.ref(new), columns=columns, thresholds=thresholds)
