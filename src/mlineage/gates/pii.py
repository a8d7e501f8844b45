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
from .tables import false_scalar, int_array, string_array

if TYPE_CHECKING:
    import pyarrow as pa

KINDS = ("card", "iban", "email", "phone", "ip", "national_id")
DEFAULT_KINDS = ("card", "iban", "email", "phone", "ip")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b"  # exact: matches need no confirmation, so they are counted in C
IPV6 = r"\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b"

# RE2-compatible candidate patterns (the prefilter runs them in C over whole columns)
PATTERNS: dict[str, str] = {
    "card": r"\b(?:\d[ -]?){12,18}\d\b",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    # spaces, dashes and brackets separate phone digits; dots do not (they would make every IP a candidate)
    "phone": r"(?:\+\d{1,3}[\s-]?)?\(?\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,5}",
    "ip": IPV4 + "|" + IPV6,
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
    from ..extras import require

    return bool(require("stdnum.iban", "gates", "the privacy gate").is_valid(text))


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

    def count(self, kind: str, text: str) -> int:
        """Confirmed matches of one kind in one cell. A phone number is not counted where a card, IBAN or
        national id was confirmed (their digits would parse as one)."""
        if kind == "phone":
            claimed = [m.span() for other in ("card", "iban", "national_id") if other in self._regex
                       for m in self._regex[other].finditer(text) if self.confirm(other, m.group())]
            return self._phones(text, claimed)
        return sum(1 for m in self._regex[kind].finditer(text) if self.confirm(kind, m.group()))

    def scan_text(self, text: str) -> dict[str, int]:
        """Confirmed matches per kind in one cell (counts only)."""
        found = {kind: self.count(kind, text) for kind in self.kinds}
        return {k: n for k, n in found.items() if n}

    def _phones(self, text: str, claimed: list[tuple[int, int]]) -> int:
        from ..extras import require

        phonenumbers = require("phonenumbers", "gates", "the privacy gate")
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
        table = table.take(int_array(picks))
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
        findings.extend(_scan_column(col, name, kinds, scanner))
    return findings, scanned, table.num_rows


JOIN_ROWS = 500_000  # rows joined into one string per RE2 call (offsets stay far below 2 GiB)


def _joined(col: Any) -> Any:
    """The column's rows as one string, a newline between rows: RE2 scans it in one call, with none of the
    per-row overhead a row-by-row pass has, to learn which kinds occur at all."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    empty, newline = string_array(["", "\n"], arr.type)
    arr = arr.fill_null(empty)
    return pc.binary_join(pa.ListArray.from_arrays(int_array([0, len(arr)], "int32"), arr), newline)


def _scan_column(col: Any, name: str, kinds: list[str], scanner: Scanner) -> list[Finding]:
    """Per slice of rows: the rows joined into one string say, one RE2 call per kind, which kinds occur; only
    those get a row-by-row pass (in C) that marks candidate rows. E-mail and IPv4 matches need no
    confirmation and are counted in C; the other kinds confirm only their candidates, in Python."""
    if not scanner.prefilter:
        return []
    totals: dict[str, list[int]] = {}
    for start in range(0, len(col), JOIN_ROWS):
        for kind, count, rows in _scan_slice(col.slice(start, JOIN_ROWS), kinds, scanner):
            slot = totals.setdefault(kind, [0, 0])
            slot[0] += count
            slot[1] += rows
    return [Finding(name, kind, c, r) for kind, (c, r) in totals.items() if c]


def _scan_slice(col: Any, kinds: list[str], scanner: Scanner) -> list[tuple[str, int, int]]:
    import numpy as np
    import pyarrow.compute as pc

    joined = _joined(col)
    false = false_scalar()
    present = [k for k in kinds if pc.any(pc.match_substring_regex(joined, PATTERNS[k])).as_py()]
    found = []
    for kind in present:
        mask = pc.match_substring_regex(col, PATTERNS[kind]).fill_null(false)
        if kind == "email":
            count = int(pc.sum(pc.count_substring_regex(pc.filter(col, mask), PATTERNS[kind])).as_py() or 0)
            rows = int(pc.sum(mask).as_py() or 0)
        elif kind == "ip":
            rows_of = pc.filter(col, mask)
            v4 = pc.count_substring_regex(rows_of, IPV4)
            v6_mask = pc.match_substring_regex(rows_of, IPV6).fill_null(false)
            per_row = np.asarray(v4.fill_null(pc.cast(int_array([0]), v4.type)[0]), dtype=np.int64)
            texts = pc.filter(rows_of, v6_mask).to_pylist()
            for i, text in zip(np.flatnonzero(np.asarray(v6_mask)), texts, strict=True):
                per_row[i] += sum(1 for m in re.finditer(IPV6, text) if _ip(m.group()))
            count, rows = int(per_row.sum()), int(np.count_nonzero(per_row))
        else:
            counts = [scanner.count(kind, text) for text in pc.filter(col, mask).to_pylist()]
            count, rows = sum(counts), sum(1 for n in counts if n)
        found.append((kind, count, rows))
    return found


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
