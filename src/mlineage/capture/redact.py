"""Secret redaction: the one place that decides what must never reach the record.

Three rules, applied at the SDK boundary (params in ``ActiveRun``, the run context in capture) and once more
in the append pipeline (``pipeline.py``) as a last line of defence, to the fields each event's spec names:

1. A *name* that looks like a credential (``API_KEY``, ``hub_token``, ``--password``...) keeps its key but its
   value becomes ``[REDACTED]``.
2. Credentials inside URLs (``https://user:pass@host``, ``https://TOKEN@github.com``) are stripped, leaving
   the scheme, host and path.
3. A *value* that looks like a known token format (GitHub, GitLab, AWS, OpenAI, Anthropic, Hugging Face,
   Slack, Stripe, Google, npm, PyPI, JWTs, PEM private keys) is replaced by ``[REDACTED]`` wherever it
   appears.

Everything here is pure and cheap: the patterns are compiled once, and strings with no ``@``, ``://`` or token
prefix are passed through after a single regular-expression scan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Names (of env variables, params, dict keys, command-line options) that hold credentials.
_SECRET_NAME = re.compile(
    # words that mark a credential wherever they appear in a name (PGPASSWORD, MYAPP_SECRET, X_APIKEY)
    r"passw|passphrase|secret|credential|api_?key|api-key|authoriz|bearer|cookie|private_?key|access_?key"
    r"|token(?!iz)"
    # short words that only count as a whole word (AUTH, DB_PWD, SESSION, SENTRY_DSN, a *_KEY)
    r"|(?:^|[^a-z])(?:[a-z]*key|pwd|auth|session|dsn|private)(?:$|[^a-z])",
    re.IGNORECASE,
)
# Names that match the pattern above but are known not to be secrets.
_NOT_SECRET_NAMES = frozenset({
    "key", "keys", "sort_key", "group_key", "primary_key", "monkey", "hotkey", "keyboard", "key_column",
    "max_position_embeddings", "tokenizer", "tokens", "max_tokens", "max_new_tokens", "num_tokens",
    "token_type_ids", "pad_token_id", "bos_token_id", "eos_token_id", "unk_token_id", "sep_token_id",
    "cls_token_id", "mask_token_id", "decoder_start_token_id", "vocab_size", "session_id",
    "push_to_hub_model_id", "hub_model_id", "auth_type", "authors", "author", "pwd", "oldpwd",
})
# Suffixes that name something about a secret (its id, size, location) rather than the secret itself.
_NOT_SECRET_SUFFIXES = (
    "_id",
    "_ids",
    "_size",
    "_len",
    "_length",
    "_count",
    "_type",
    "_path",
    "_file",
    "_dir",
)

# Known token formats. Each alternative is anchored on a distinctive prefix, so ordinary text never matches.
_TOKEN = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub classic tokens
    r"|github_pat_[A-Za-z0-9_]{30,}"  # GitHub fine-grained tokens
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}"  # AWS access key ids
    r"|sk-ant-[A-Za-z0-9_\-]{20,}"  # Anthropic
    r"|sk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}"  # OpenAI
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|ya29\.[0-9A-Za-z_\-]{20,}"  # Google OAuth access tokens
    r"|npm_[A-Za-z0-9]{36}"  # npm
    r"|pypi-AgE[A-Za-z0-9_\-]{20,}"  # PyPI upload tokens
    r"|dop_v1_[a-f0-9]{64}"  # DigitalOcean
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWTs
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)",  # PEM private keys
)
# Userinfo in a URL: scheme://user[:password]@host — the whole userinfo goes.
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s@?#]+)@")
# key=value pairs inside a string (a DSN, a query string, an option): the value goes when the key is secret.
_INLINE_PAIR = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>=|:\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;,\"']+)"
)
_QUICK_CHECK = re.compile(r"@|=|:\s|gh[pousr]_|github_pat_|glpat-|A(?:KI|SI|GP|ID|RO|NP|NV|IP)A|sk-|hf_|xox|"
                          r"_live_|_test_|AIza|ya29\.|npm_|pypi-|dop_v1_|eyJ|-----BEGIN")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a variable, option or key name looks like it holds a credential (cached: the same param and
    context keys come back on every run)."""
    lowered = name.lower().lstrip("-")
    if lowered in _NOT_SECRET_NAMES or lowered.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return _SECRET_NAME.search(lowered) is not None


def strip_url_credentials(text: str) -> str:
    """``https://user:pass@host/x`` → ``https://host/x``; text without a URL comes back unchanged."""
    if "@" not in text or "://" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: m.group("scheme"), text)


_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _redact_pair(match: re.Match[str]) -> str:
    if is_secret_name(match.group("key")):
        return f"{match.group('key')}{match.group('sep')}{REDACTED}{_unbalanced_tail(match.group('value'))}"
    return match.group(0)


def _unbalanced_tail(value: str) -> str:
    """The closing brackets that end ``value`` without an opener in it: they close the text around the pair
    (``(password=hunter2)``), so they are kept after the redaction."""
    end = len(value)
    while end and value[end - 1] in _CLOSERS and value.count(_CLOSERS[value[end - 1]], 0, end) < value.count(
            value[end - 1], 0, end):
        end -= 1
    return value[end:]


def redact_text(text: str) -> str:
    """Strip URL credentials, ``password=...`` pairs and known token formats from a string."""
    if len(text) <= 256:
        return _redact_short_text(text)
    return _redact_text(text)


@functools.lru_cache(maxsize=8192)
def _redact_short_text(text: str) -> str:
    """Short strings repeat from run to run (hosts, paths, digests, argv): remember their verdicts."""
    return _redact_text(text)


def _redact_text(text: str) -> str:
    if not _QUICK_CHECK.search(text):
        return text
    text = strip_url_credentials(text)
    text = _TOKEN.sub(REDACTED, text)
    if "=" in text or ":" in text:
        text = _INLINE_PAIR.sub(_redact_pair, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact a JSON value: strings by content, objects also by key name. Returns a new value."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return redact_mapping(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def redact_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy in which secret-named keys have their value replaced and every other value is redacted."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(key, str) and is_secret_name(key) and _may_hold_secret(value):
            out[key] = REDACTED
        else:
            out[key] = redact_value(value)
    return out


def _may_hold_secret(value: Any) -> bool:
    """Numbers, booleans and None cannot carry a credential worth hiding; strings and containers can."""
    return isinstance(value, (str, bytes, dict, list, tuple)) and len(value) > 0


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as they may be recorded: secret-named keys and token-looking values are redacted."""
    return redact_mapping(params)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line as it may be recorded: ``--password X``, ``--token=X`` and tokens in values redacted.

    ``-p`` is the short password flag of mysql, sshpass and many scripts, so its value goes too, given apart
    (``-p X``) or attached (``-pX``); a port passed as ``-p 8080`` is hidden as well, the safe side to err on.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        arg = str(arg)
        if hide_next and not arg.startswith("-"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        if arg == "-p":
            out.append(arg)
            hide_next = True
            continue
        if arg.startswith("-p") and not arg.startswith("--"):
            out.append(f"-p{REDACTED}")
            continue
        if arg.startswith("-"):
            name, sep, _value = arg.partition("=")
            if is_secret_name(name):
                if sep:
                    out.append(f"{name}={REDACTED}")
                else:
                    out.append(arg)
                    hide_next = True
                continue
        out.append(redact_text(arg))
    return out


def redact_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables as they may be recorded: secret-named ones redacted, the rest cleaned."""
    return {
        name: (REDACTED if is_secret_name(name) else redact_text(value))
        for name, value in sorted(environ.items())
    }


_specs: Mapping[str, Any] | None = None  # the catalogue's specs, once a payload is redacted


def redact_payload(event_type: str, payload: Any) -> Any:
    """The last line of defence before an event is sealed: the fields its spec names (``EventSpec.redact``:
    params, the run context, error messages...) redacted again, whatever path the event came by. Event types
    with no such fields pass through untouched (and unchanged in cost)."""
    global _specs
    if _specs is None:  # loaded on first use: capturing a run's context must not load every event type
        from ..catalogue import SPECS

        _specs = SPECS
    spec = _specs.get(event_type)
    if spec is None or not spec.redact or not isinstance(payload, dict):
        return payload
    out = dict(payload)
    for name in spec.redact:
        value = payload.get(name)
        if isinstance(value, dict):
            out[name] = redact_mapping(value)
        elif isinstance(value, (str, list)):
            out[name] = redact_value(value)
    return out
