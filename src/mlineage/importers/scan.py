"""Post-hoc lineage: what scripts, notebooks and logs say they read and wrote (pure: text in, findings out).

Nothing here was tracked, so every finding is a guess with a confidence and its evidence (which line of
which file). Scripts and notebooks are read with ``ast`` (never run): calls such as ``pd.read_csv("x")``,
``np.save("y", a)``, ``torch.save(m, "m.pt")``, ``open("z", "w")``, ``df.to_parquet("p")`` with a literal
path. Logs are matched line by line against patterns (``loaded X``, ``saved to Y``), configurable.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# function or method name -> (relation, index of the path among the positional args, keyword names)
_CALLS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    **{name: ("read", 0, ("filepath_or_buffer", "path", "path_or_buf", "io", "fname", "file", "f"))
       for name in ("read_csv", "read_parquet", "read_json", "read_excel", "read_feather", "read_pickle",
                    "read_table", "read_hdf", "read_orc", "loadtxt", "genfromtxt", "imread", "read_text",
                    "read_bytes", "load_dataset", "from_pretrained")},
    "load": ("read", 0, ("f", "file", "fname", "filename", "path")),  # np.load, torch.load, joblib.load
    **{name: ("write", 0, ("path", "path_or_buf", "excel_writer", "fname", "file"))
       for name in ("to_csv", "to_parquet", "to_json", "to_excel", "to_feather", "to_pickle", "to_hdf",
                    "savefig", "savetxt", "imwrite", "write_text", "write_bytes", "save_pretrained")},
    "save": ("write", 0, ("file", "fname", "path", "f")),  # np.save(path, a); torch.save is below
    "savez": ("write", 0, ("file",)),
    "savez_compressed": ("write", 0, ("file",)),
    "dump": ("write", 1, ("filename", "file", "f")),  # joblib.dump(obj, path)
}
_SECOND_ARG_SAVE = ("torch", "joblib")  # torch.save(obj, path): the path comes second
DEFAULT_LOG_PATTERNS = (
    ("read", (r"(?i)\b(?:loaded|loading|reading|read|opened)\b(?:\s+\w+){0,2}?\s+(?:from\s+)?['\"]?"
              r"(?P<path>[\w./-]+\.[A-Za-z0-9]+)")),
    ("write", (r"(?i)\b(?:saved|saving|wrote|writing|written|exported|stored)\b(?:\s+\w+){0,2}?\s+"
               r"(?:to\s+|as\s+)?['\"]?(?P<path>[\w./-]+\.[A-Za-z0-9]+)")),
)
AST_CONFIDENCE = 0.9
LOG_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Finding:
    """One path a file says it reads or writes: ``line`` is 1-based in ``file`` (a notebook's cells are
    numbered as if concatenated)."""

    file: str
    line: int
    relation: str  # read | write
    path: str
    method: str  # ast | log
    confidence: float
    text: str


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
        return node.value
    if isinstance(node, ast.Call) and _name(node.func) in ("Path", "PurePath") and node.args:
        return _literal(node.args[0])
    return None


def _name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _owner(func: ast.AST) -> str | None:
    return func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None


def _open_mode(call: ast.Call) -> str:
    mode = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    text = mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
    return "write" if any(c in text for c in "wax+") else "read"


def python_findings(file: str, source: str) -> list[Finding]:
    """Reads and writes of literal paths in Python source (a syntax error yields nothing: the file is
    recorded, its calls are not guessed at)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name == "open" and isinstance(node.func, ast.Name):
            path = _literal(node.args[0]) if node.args else None
            relation = _open_mode(node)
        elif name in _CALLS:
            relation, index, keywords = _CALLS[name]
            if name == "save" and _owner(node.func) in _SECOND_ARG_SAVE:
                index = 1
            if name in ("read_text", "read_bytes", "write_text", "write_bytes"):
                path = _literal(node.func.value) if isinstance(node.func, ast.Attribute) else None
            else:
                arg = node.args[index] if len(node.args) > index else next(
                    (k.value for k in node.keywords if k.arg in keywords), None)
                path = _literal(arg)
        else:
            continue
        if path is None:
            continue
        text = lines[node.lineno - 1].strip() if 0 < node.lineno <= len(lines) else ""
        out.append(Finding(file, node.lineno, relation, path, "ast", AST_CONFIDENCE, text[:300]))
    return sorted(out, key=lambda f: (f.line, f.path))


def notebook_source(text: str) -> str:
    """A notebook's code cells as one script (magics and shell lines blanked, so line numbers hold)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return ""
    lines: list[str] = []
    for cell in doc.get("cells", []) if isinstance(doc, dict) else []:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        body = "".join(source) if isinstance(source, list) else str(source)
        for line in body.splitlines():
            lines.append("" if line.lstrip().startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines)


def compile_patterns(patterns: Sequence[tuple[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    compiled = []
    for relation, pattern in patterns:
        regex = re.compile(pattern)
        if "path" not in regex.groupindex:
            raise ValueError(f"log pattern {pattern!r} has no (?P<path>...) group")
        compiled.append((relation, regex))
    return compiled


def log_findings(file: str, lines: Iterator[str] | Sequence[str],
                 patterns: Sequence[tuple[str, re.Pattern[str]]]) -> list[Finding]:
    out = []
    for number, line in enumerate(lines, start=1):
        for relation, regex in patterns:
            for match in regex.finditer(line):
                out.append(Finding(file, number, relation, match.group("path"), "log", LOG_CONFIDENCE,
                                   line.strip()[:300]))
    return out
