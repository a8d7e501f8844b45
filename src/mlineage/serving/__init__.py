"""Serving traces: which registry version, retrieval-index version and prompt version answered a request,
and from an answer back to its source documents and their licences.

Pure modules: ``model`` (what a trace is, its checks), ``otel`` (OpenTelemetry GenAI / OpenInference
attributes → chunks and facts). ``events`` declares ``ServingTraces`` and the ``serving`` projection;
``recorder`` is the hot-path API (``trace_request``: a bounded queue and one writer thread); ``resolve``
turns refs into digests (cached); ``service`` records and lists traces through the Client; ``records``
reads the projection; ``explain`` walks an answer to its documents (``mlineage explain-answer``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TraceRecorder", "configure", "default_recorder", "register_chunk_resolver", "trace_request"]


def __getattr__(name: str) -> Any:
    if name in ("TraceRecorder", "configure", "default_recorder", "trace_request"):
        import importlib

        return getattr(importlib.import_module(f"{__name__}.recorder"), name)
    if name == "register_chunk_resolver":
        from .explain import register_chunk_resolver

        return register_chunk_resolver
    raise AttributeError(name)
