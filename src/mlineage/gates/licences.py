"""Licences and the conditions they carry: parsing, classification, combination, and the verdict for an
intended use. Pure: no store, no graph (``propagation.py`` walks the ancestry).

A licence is an SPDX expression (``MIT AND CC-BY-SA-4.0``, parsed with ``license-expression``) or a Hugging
Face licence id (``openrail``, ``llama2``, ``cc-by-nc-4.0``). Each id maps to a name of the Data Provenance
Initiative's ``license_classes.json`` (shipped in ``data/``, source noted in ``data/SOURCES.md``), which gives
its use (commercial / non-commercial / academic-only / unspecified), attribution and share-alike. ``AND``
combines the conditions of both sides (the stricter use, every obligation); ``OR`` lets the licensee choose
the side with the fewer restrictions.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

USES = ("commercial", "non-commercial", "academic", "unspecified")  # from least to most restricted
_CLASS_USE = {"All": "commercial", "NC": "non-commercial", "Acad": "academic", "Unspecified": "unspecified"}
# which licence uses permit an intended use
PERMITS = {
    "commercial": {"commercial"},
    "non-commercial": {"commercial", "non-commercial"},
    "academic": {"commercial", "non-commercial", "academic"},
}


@dataclass(frozen=True, slots=True)
class Conditions:
    """What a licence asks: the widest use it allows, and whether it requires attribution and share-alike
    (None: the reference data does not say)."""

    use: str
    attribution: bool | None
    share_alike: bool | None
    names: tuple[str, ...] = ()  # the reference names it was classified by
    unknown: tuple[str, ...] = ()  # ids the reference data does not know (classified as unspecified)

    def both(self, other: Conditions) -> Conditions:
        """Both apply (AND, or two ancestors): the stricter use and every obligation."""
        return Conditions(
            max(self.use, other.use, key=USES.index),
            _any(self.attribution, other.attribution),
            _any(self.share_alike, other.share_alike),
            _merge(self.names, other.names),
            _merge(self.unknown, other.unknown),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "use": self.use,
            "attribution": self.attribution,
            "share_alike": self.share_alike,
            "classified_as": list(self.names),
            "unknown_ids": list(self.unknown),
        }


def _any(a: bool | None, b: bool | None) -> bool | None:
    if a or b:
        return True
    if a is None or b is None:
        return None
    return False


def _merge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def _weight(c: Conditions) -> tuple[int, int, int]:
    return USES.index(c.use), int(bool(c.share_alike)), int(bool(c.attribution))


UNSPECIFIED = Conditions("unspecified", None, None)


@functools.cache
def classes() -> dict[str, Conditions]:
    """Reference name -> conditions, from the shipped ``license_classes.json``."""
    root = resources.files(__package__).joinpath("data")
    raw = json.loads(root.joinpath("license_classes.json").read_text("utf-8"))
    flag = {"1": True, "0": False, "?": None}
    return {
        name: Conditions(_CLASS_USE[use], flag[attr], flag[sa], (name,))
        for name, (use, attr, sa) in raw.items()
    }


@functools.cache
def ids() -> dict[str, str]:
    """Lower-case SPDX or Hugging Face id -> reference name (also every reference name, lower-cased)."""
    root = resources.files(__package__).joinpath("data")
    found: dict[str, str] = json.loads(root.joinpath("licence_ids.json").read_text("utf-8"))["ids"]
    return {**{name.lower(): name for name in classes()}, **found}


def classify_id(licence_id: str) -> Conditions:
    name = ids().get(licence_id.strip().lower())
    if name is None:
        return Conditions("unspecified", None, None, (), (licence_id,))
    return classes()[name]


def conditions_of(text: str) -> Conditions:
    """The conditions of a licence expression or id; a reference name (``CC BY-NC 4.0``) is accepted as is."""
    if text.strip().lower() in ids():
        return classify_id(text)
    from ..extras import require

    le = require("license_expression", "gates", "reading a licence expression")
    AND, OR, LicenseSymbol, Licensing = le.AND, le.OR, le.LicenseSymbol, le.Licensing

    try:
        expression = Licensing().parse(text, simple=False)
    except Exception:  # noqa: BLE001 - the library raises several classes; all mean "not an expression"
        return Conditions("unspecified", None, None, (), (text,))
    return _evaluate(expression, AND, OR, LicenseSymbol)


def _evaluate(node: Any, and_: type, or_: type, symbol: type) -> Conditions:
    if isinstance(node, symbol):
        return classify_id(str(getattr(node, "key", node)))
    if hasattr(node, "license_symbol"):  # "GPL-2.0 WITH Classpath-exception-2.0": the licence decides
        return classify_id(str(node.license_symbol.key))
    if not getattr(node, "args", None):
        return Conditions("unspecified", None, None, (), (str(node),))
    parts = [_evaluate(arg, and_, or_, symbol) for arg in node.args]
    if isinstance(node, or_):
        return min(parts, key=_weight)
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.both(part)
    return combined


def validate_licence(text: str) -> str:
    """A licence as recorded: stripped, not empty, at most 400 characters; parsed to check it is one."""
    from ..errors import ValidationError

    value = text.strip() if isinstance(text, str) else ""
    if not value or len(value) > 400:
        raise ValidationError(
            "licence", "must be an SPDX expression or a licence id (at most 400 characters)"
        )
    return value


def use_allowed(use: str, intended: str) -> bool:
    return use in PERMITS[intended]
