"""Writing an index's chunks and vectors to a vector store that versions itself (LanceDB: every write is a
new table version). I/O only; ``indexes`` records what was written. LanceDB is imported here, lazily: the
``embeddings`` extra."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from .chunking import Chunk


def write_lancedb(uri: str, table: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]],
                  index_digest: str) -> dict[str, Any]:
    """Overwrite ``table`` in the LanceDB database at ``uri`` with one row per chunk (id, document, content
    hash, text, vector, the index digest); returns where it went and the table version LanceDB gave it."""
    try:
        import lancedb
    except ImportError:
        raise ConfigError("lancedb is not installed: pip install 'mlineage[embeddings]'") from None
    if not chunks:
        raise ConfigError("the index has no chunks: every document's text is empty")
    rows = [{"id": c.id, "doc_id": c.doc_id, "start": c.start, "content_hash": c.content_hash, "text": c.text,
             "vector": [float(x) for x in v], "index": index_digest}
            for c, v in zip(chunks, vectors, strict=True)]
    db = lancedb.connect(uri)
    try:  # "overwrite" of a table not there yet warns on stderr; "create" does not
        db.open_table(table)
        mode = "overwrite"
    except ValueError:
        mode = "create"
    written = db.create_table(table, data=rows, mode=mode)
    return {"store": "lancedb", "uri": uri, "table": table, "version": int(written.version),
            "rows": int(written.count_rows())}


def search_lancedb(uri: str, table: str, vector: Sequence[float], limit: int = 3) -> list[dict[str, Any]]:
    """The nearest chunks to ``vector`` (id, document, content hash, index digest, text)."""
    import lancedb

    found = lancedb.connect(uri).open_table(table).search(list(vector)).limit(limit).to_list()
    return [{k: r[k] for k in ("id", "doc_id", "content_hash", "index", "text")} for r in found]
