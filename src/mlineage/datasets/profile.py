"""A dataset version's profile: its row count and, per column, type, NULLs, a distinct estimate, min/max,
mean and 101 quantiles (numeric) or its top values (categorical). Kept as a small content-addressed blob
(canonical JSON) linked to the version by a ``DatasetProfiled`` event, so drift between two versions is
computed from two small documents instead of two large tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROFILE_MEDIA_TYPE = "application/vnd.mlineage.profile+json"
PROFILE_FORMAT = 1


@dataclass(frozen=True)
class Profile:
    rows: int
    columns: list[dict[str, Any]]
    format: str = ""  # parquet / csv / jsonl

    def column(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.columns if c["name"] == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": PROFILE_FORMAT, "rows": self.rows, "format": self.format, "columns": self.columns}

    def to_bytes(self) -> bytes:
        """Canonical bytes (sorted keys, no spaces): the same table always gives the same digest."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        return cls(int(d["rows"]), list(d["columns"]), str(d.get("format", "")))

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        from ..errors import ValidationError

        try:
            document = json.loads(data)
            return cls.from_dict(document)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError("profile", f"is not a profile document ({exc})") from None
