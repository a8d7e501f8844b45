"""Reproduce: the reproducibility predicate R(m) explained term by term, ``mlineage reproduce`` with
equivalence verdicts, and run reuse.

Pure logic: ``predicate`` (the terms of R), ``facts`` (what they are judged on), ``key`` (the run-reuse cache
key), ``compare`` (bit-identical or equivalent outputs), ``ancestry`` (the steps of an ancestry in dependency
order), ``results`` (what a reproduce answers). I/O: ``materialise`` (inputs by digest, the code at its
commit), ``current`` (the code and environment terms now), ``rerun`` (one step re-run as a tracked run),
``reuse`` (look-up and restore), ``service`` (``--reuse`` and ``--upstream``), ``stamp`` and ``quick`` (a
no-op ``--upstream`` answered without opening the store through SQLAlchemy). Events and tables:
``records``.
"""

from __future__ import annotations

from .predicate import InputFact, Reproducibility, RunFacts, RunVerdict, Term, assess, predicate

__all__ = ["InputFact", "Reproducibility", "RunFacts", "RunVerdict", "Term", "assess", "predicate"]
