"""The policy file (``mlineage.policy.yaml``): loading, validation against the shipped JSON Schema, and the
typed ``Policy`` the runner reads.

One format: YAML (so JSON too), validated by ``data/policy.schema.json`` — the same file an editor uses to
complete and check the policy (``# yaml-language-server: $schema=...``). Every error names the line and the
field (``mlineage.policy.yaml:7: gates[1].warn_after.period: 'weeks' is not one of ...``); an unknown gate
name
is an error of its own that lists the known ones. The policy's digest (SHA-256 of its canonical JSON) is what
every recorded evaluation names, so an audit can tell which version of the rules a model passed.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .model import Action

POLICY_FILE = "mlineage.policy.yaml"
GATES = ("schema", "pins", "freshness", "privacy", "licence", "auditability", "release", "reproducibility")


@dataclass(frozen=True, slots=True)
class Selector:
    """Which artifacts an entry applies to: a name or glob, a kind, or both."""

    name: str | None = None
    kind: str | None = None

    def matches(self, name: str | None, kind: str) -> bool:
        if self.kind is not None and kind != self.kind:
            return False
        if self.name is not None:
            return name is not None and fnmatch.fnmatchcase(name, self.name)
        return True


@dataclass(frozen=True, slots=True)
class GateSpec:
    """One policy entry: the gate type, where it applies, what a failure does, and its own parameters."""

    gate: str
    label: str
    selector: Selector
    action: Action = "block"
    notify: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    gates: tuple[GateSpec, ...]
    digest: str
    path: str | None = None
    intended_use: str = "commercial"


@functools.cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema of the policy file (package data)."""
    text = resources.files(__package__).joinpath("data/policy.schema.json").read_text("utf-8")
    found: dict[str, Any] = json.loads(text)
    return found


def find_policy(start: Path) -> Path | None:
    """``mlineage.policy.yaml`` in ``start`` or the nearest folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / POLICY_FILE
        if candidate.is_file():
            return candidate
    return None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; ``ConfigError`` naming the file, line and field otherwise."""
    source = Path(path)
    try:
        text = source.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the policy {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: is not UTF-8 text (byte {exc.start}): a policy is a YAML file; "
            "`mlineage check --schema` describes it"
        ) from None
    return parse_policy(text, str(source))


def parse_policy(text: str, name: str = POLICY_FILE) -> Policy:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, where PyYAML was built with it
    try:
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: no mark, a position in the text
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"{name}:{line}: not valid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    lines = _line_map(node) if node is not None else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}:1: the policy must be a mapping with a `gates` list")
    for i, entry in enumerate(data.get("gates") or []):
        if isinstance(entry, dict) and isinstance(entry.get("gate"), str) and entry["gate"] not in GATES:
            line = lines.get(("gates", i, "gate"), lines.get(("gates", i), 1))
            raise ConfigError(
                f"{name}:{line}: gates[{i}].gate: unknown gate {entry['gate']!r} (known: {', '.join(GATES)})"
            )
    _validate(data, lines, name)
    digest = (
        "sha256:"
        + hashlib.sha256(
            json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        ).hexdigest()
    )
    default_use = data.get("intended_use", "commercial")
    specs = []
    for i, entry in enumerate(data.get("gates") or []):
        params = {k: v for k, v in entry.items() if k not in ("gate", "name", "for", "action", "notify")}
        if entry["gate"] == "licence":
            params.setdefault("intended_use", default_use)
        sel = entry["for"]
        specs.append(
            GateSpec(
                entry["gate"],
                entry.get("name", entry["gate"]),
                Selector(sel.get("name"), sel.get("kind")),
                entry.get("action", "block"),
                entry.get("notify"),
                params,
                lines.get(("gates", i)),
            )
        )
    return Policy(tuple(specs), digest, name, default_use)


def _validate(data: dict[str, Any], lines: dict[tuple[Any, ...], int], name: str) -> None:
    """Validate against the schema. A policy that validated before (the same content under the same schema,
    remembered in the user's cache folder) is not validated again: loading jsonschema and its format
    checkers is most of what reading a policy costs ``mlineage check``."""
    marker = _valid_marker(data)
    if marker is not None and marker.exists():
        return
    from ..extras import require

    validator = require("jsonschema", "gates", "checking a policy file").Draft202012Validator(policy_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if not errors:
        if marker is not None:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:
                pass  # only the next check pays for the validation again
        return
    error = errors[-1] if errors[-1].validator != "unevaluatedProperties" else errors[0]
    path = tuple(error.absolute_path)
    line = 1
    for depth in range(len(path), -1, -1):
        if path[:depth] in lines:
            line = lines[path[:depth]]
            break
    field_name = (
        "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))
        or "(top level)"
    )
    raise ConfigError(f"{name}:{line}: {field_name}: {error.message}")


def _valid_marker(data: dict[str, Any]) -> Path | None:
    """The cache file that says this content validated under this schema (None: caching is off)."""
    from ..capture.package_cache import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    schema = json.dumps(policy_schema(), sort_keys=True)
    content = json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)
    key = hashlib.sha256(f"{schema}\0{content}".encode()).hexdigest()
    return folder / "policy-valid" / key[:40]


def _line_map(node: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """JSON path -> 1-based line of the YAML node (a mapping value's line is its key's line)."""
    import yaml

    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            found.update(_line_map(value, child))
            found[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.update(_line_map(item, (*path, i)))
    return found
