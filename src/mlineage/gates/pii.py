"""The privacy gate: a scan of tabular or text data for personal data, without model downloads.

Each kind is a regular expression that finds candidates, then a check that confirms them: the Luhn checksum
for card numbers, ISO 7064 for IBANs (python-stdnum), python-stdnum's validators for national ids,
``phonenumbers`` for phone numbers, the ``ipaddress`` module for IPs; e-mail addresses are matched by shape.

Two passes keep it fast: per column, one RE2 scan over the Arrow array (``pyarrow.compute``, in C) marks the
rows holding any candidate; only those rows are looked at in Python. Sampling (``sample_rows``) takes evenly
spaced rows; allow-listed columns are skipped.

A finding is (column, kind, count): the matched text is confirmed and dropped on the spot, never stored,
returned, logged or raised, so nothing a scan reports can leak what it found.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .model import Check, Verdict

if TYPE_CHECKING:
    import pyarrow as pa

KINDS = ("card", "iban", "email", "phone", "ip", "national_id")
DEFAULT_KINDS = ("card", "iban", "email", "phone", "ip")

# RE2-compatible candidate patterns (the prefilter runs them in C over whole columns)
PATTERNS: dict[str, str] = {
    "card": r"\b(?:\d[ -]?){12,18}\d\b",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "phone": r"(?:\+\d{1,3}[\s.-]?)?\(?\d{2,4}\)?[\s.-]?\d{3,4}[\s.-]?\d{3,5}",
    "ip": r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b",
    "national_id": r"\b\d[\d -]{6,14}\d\b|\b[A-Z]{1,2}\d{6,10}[A-Z]?\b",
}


@dataclass(frozen=True, slots=True)
class Finding:
    column: str
    kind: str
    count: int  # matches confirmed
    rows: int  # rows holding at least one

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "count": self.count, "rows": self.rows}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _iban(text: str) -> bool:
    from stdnum import iban

    return bool(iban.is_valid(text))


def _ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (address.version == 6 and text.count(":") < 2)


class Scanner:
    """Confirms candidates of the configured kinds; ``regions`` are the phone regions tried for numbers
    written
    without a country code, ``national_ids`` python-stdnum modules as ``us.ssn``, ``nl.bsn``..."""

    def __init__(
        self,
        kinds: Iterable[str] = DEFAULT_KINDS,
        regions: Iterable[str] = ("US",),
        national_ids: Iterable[str] = (),
    ) -> None:
        self.kinds = tuple(kinds)
        self.regions = tuple(regions)
        self._national = [self._stdnum(name) for name in national_ids]
        if "national_id" in self.kinds and not self._national:
            self.kinds = tuple(k for k in self.kinds if k != "national_id")
        if self._national and "national_id" not in self.kinds:
            self.kinds = (*self.kinds, "national_id")
        self._regex = {k: re.compile(PATTERNS[k]) for k in self.kinds}
        self.prefilter = "|".join(f"(?:{PATTERNS[k]})" for k in self.kinds)

    @staticmethod
    def _stdnum(name: str) -> Callable[[str], bool]:
        import importlib

        from ..errors import ConfigError

        try:
            module = importlib.import_module(f"stdnum.{name}")
        except ImportError:
            raise ConfigError(
                f"national_ids: python-stdnum has no module {name!r} (as us.ssn, nl.bsn)"
            ) from None
        return module.is_valid  # type: ignore[no-any-return]

    def confirm(self, kind: str, text: str) -> bool:
        if kind == "card":
            return _card(text)
        if kind == "iban":
            return _iban(text)
        if kind == "ip":
            return _ip(text)
        if kind == "national_id":
            return any(valid(text) for valid in self._national)
        return kind == "email"

    def scan_text(self, text: str) -> dict[str, int]:
        """Confirmed matches per kind in one cell (counts only)."""
        found: dict[str, int] = {}
        claimed: list[tuple[int, int]] = []  # spans already counted (a card number is not also a phone)
        for kind in self.kinds:
            if kind == "phone":
                n = self._phones(text, claimed)
            else:
                n = 0
                for m in self._regex[kind].finditer(text):
                    if self.confirm(kind, m.group()):
                        n += 1
                        claimed.append(m.span())
            if n:
                found[kind] = n
        return found

    def _phones(self, text: str, claimed: list[tuple[int, int]]) -> int:
        import phonenumbers

        n = 0
        seen: set[tuple[int, int]] = set()
        for region in self.regions or ("US",):
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                span = (match.start, match.end)
                if span in seen or any(a < span[1] and span[0] < b for a, b in claimed):
                    continue
                seen.add(span)
                n += 1
        return n


def sample_indices(rows: int, sample_rows: int | None) -> Any:
    """Evenly spaced row indices (all rows when ``sample_rows`` is None or not smaller)."""
    import numpy as np

    if sample_rows is None or sample_rows >= rows:
        return None
    return np.linspace(0, rows - 1, sample_rows).astype(np.int64)


def scan_table(
    table: pa.Table, scanner: Scanner, *, allow_columns: Iterable[str] = (), sample_rows: int | None = None
) -> tuple[list[Finding], list[str], int]:
    """(findings, columns scanned, rows scanned). String columns are scanned for every kind; integer columns
    (a card number stored as a number) for card numbers and national ids."""
    import pyarrow as pa
    import pyarrow.compute as pc

    allowed = set(allow_columns)
    picks = sample_indices(table.num_rows, sample_rows)
    if picks is not None:
        table = table.take(pa.array(picks))
    findings: list[Finding] = []
    scanned: list[str] = []
    for name in table.column_names:
        if name in allowed:
            continue
        col = table.column(name)
        if pa.types.is_integer(col.type):
            col = pc.cast(col, pa.string())
            kinds: list[str] = [k for k in ("card", "national_id") if k in scanner.kinds]
            if not kinds:
                continue
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            kinds = list(scanner.kinds)
        else:
            continue
        scanned.append(name)
        if not scanner.prefilter:
            continue
        hits = pc.match_substring_regex(col, scanner.prefilter).fill_null(False)
        if not pc.any(hits).as_py():
            continue
        counts: dict[str, list[int]] = {}
        for text in pc.filter(col, hits).to_pylist():
            for kind, n in scanner.scan_text(text).items():
                if kind in kinds:
                    slot = counts.setdefault(kind, [0, 0])
                    slot[0] += n
                    slot[1] += 1
        findings.extend(Finding(name, kind, c, r) for kind, (c, r) in sorted(counts.items()))
    return findings, scanned, table.num_rows


def privacy_checks(
    findings: list[Finding], scanned: list[str], rows: int, max_findings: int = 0
) -> list[Check]:
    """One check per scanned column: column, kinds and counts only."""
    checks = []
    total = sum(f.count for f in findings)
    by_column: dict[str, list[Finding]] = {}
    for f in findings:
        by_column.setdefault(f.column, []).append(f)
    for name in scanned:
        found = by_column.get(name, [])
        if not found:
            checks.append(
                Check(
                    f"{name}: pii", "pass", f"no personal data found in {name} ({rows} rows)", {"rows": rows}
                )
            )
            continue
        verdict: Verdict = "fail" if total > max_findings else "warn"
        text = ", ".join(f"{f.count} {f.kind}" for f in found)
        checks.append(
            Check(
                f"{name}: pii",
                verdict,
                f"{name}: {text} (in {max(f.rows for f in found)} row(s) of {rows} scanned)",
                {"findings": [f.to_dict() for f in found], "rows": rows},
            )
        )
    return checks
