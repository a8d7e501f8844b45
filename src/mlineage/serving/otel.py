"""OpenTelemetry GenAI and OpenInference span attributes → a trace's retrieved chunks and facts.

The one module that knows those attribute names. A serving process that already emits them passes its span
attributes (``trace_request(..., attributes=span.attributes)``); mlineage keeps what links the answer to its
sources and costs, never the texts:

* OTel GenAI ``gen_ai.retrieval.documents``: a list (or its JSON string) of ``{"id", "score"}`` objects,
  with ``content``, ``content_hash`` and ``metadata`` read where present;
* OpenInference ``retrieval.documents.{i}.document.id`` / ``.score`` / ``.content`` / ``.metadata`` (the
  metadata a JSON string);
* a document's content becomes its SHA-256 content hash (the text itself is not kept); a source document id
  is read from the metadata's ``document_id``, ``doc_id``, ``source_id`` or ``ref_doc_id`` (LlamaIndex);
* token counts (``gen_ai.usage.input_tokens`` / ``output_tokens``, ``llm.token_count.prompt`` /
  ``completion`` / ``total``), the provider's model name (``gen_ai.response.model``, ``gen_ai.request.model``,
  ``llm.model_name``), ``gen_ai.operation.name``, and ``gen_ai.data_source.id`` as the index ref when none
  is given.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

_OPENINFERENCE = re.compile(
    r"^retrieval\.documents\.(\d+)\.document\.(id|score|content|metadata|content_hash)$"
)
_DOC_ID_KEYS = ("document_id", "doc_id", "source_id", "ref_doc_id", "source_document_id")
_HASH_KEYS = ("content_hash", "hash", "sha256")
_TOKENS = {
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "llm.token_count.prompt": "input_tokens",
    "llm.token_count.completion": "output_tokens",
    "llm.token_count.total": "total_tokens",
}
_PROVIDER_MODEL = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _hash(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.lower()
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return "sha256:" + text
    if re.fullmatch(r"sha256:[0-9a-f]{64}", text):
        return text
    return None


def _row(doc: Mapping[str, Any]) -> list[Any] | None:
    chunk = doc.get("id")
    if chunk is None or chunk == "":
        return None
    metadata = _json(doc.get("metadata"))
    metadata = metadata if isinstance(metadata, Mapping) else {}
    content_hash = next((h for h in (_hash(doc.get(k)) for k in _HASH_KEYS) if h), None) or next(
        (h for h in (_hash(metadata.get(k)) for k in _HASH_KEYS) if h), None
    )
    content = doc.get("content")
    if content_hash is None and isinstance(content, str):
        content_hash = "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()
    document = next((metadata[k] for k in _DOC_ID_KEYS if metadata.get(k) not in (None, "")), None)
    score = doc.get("score")
    if isinstance(score, str):
        try:
            score = float(score)
        except ValueError:
            score = None
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        score = None
    return [str(chunk), content_hash, None if document is None else str(document), score]


def retrieved(attributes: Mapping[str, Any]) -> list[list[Any]]:
    """The retrieved chunks the attributes name, as ``[chunk_id, content_hash, document_id, score]`` rows
    (GenAI's list first, then OpenInference's indexed attributes in index order)."""
    rows: list[list[Any]] = []
    docs = _json(attributes.get("gen_ai.retrieval.documents"))
    if isinstance(docs, list):
        for doc in docs:
            row = _row(doc) if isinstance(doc, Mapping) else None
            if row is not None:
                rows.append(row)
    indexed: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        match = _OPENINFERENCE.match(key) if isinstance(key, str) else None
        if match:
            indexed.setdefault(int(match.group(1)), {})[match.group(2)] = value
    for i in sorted(indexed):
        row = _row(indexed[i])
        if row is not None:
            rows.append(row)
    return rows


def facts(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Token counts, the provider's model name and the operation, under mlineage's fact names."""
    out: dict[str, Any] = {}
    for key, name in _TOKENS.items():
        value = attributes.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in out:
            out[name] = int(value)
    provider = next((attributes[k] for k in _PROVIDER_MODEL if isinstance(attributes.get(k), str)), None)
    if provider:
        out["provider_model"] = provider
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation:
        out["operation"] = operation
    return out


def index_ref(attributes: Mapping[str, Any]) -> str | None:
    """``gen_ai.data_source.id``: the retrieval data source, the index ref when the caller named none."""
    value = attributes.get("gen_ai.data_source.id")
    return value if isinstance(value, str) and value else None


def is_attribute(key: str) -> bool:
    """Whether a keyword of ``trace_request`` is a span attribute (a dotted OTel name) rather than a fact."""
    return "." in key
