"""Reproduce: the reproducibility predicate R(m) explained term by term, ``mlineage reproduce`` with
equivalence verdicts, and run reuse.

Pure logic: ``predicate`` (the terms of R), ``facts`` (what they are judged on), ``key`` (the run-reuse cache
key), ``compare`` (bit-identical or equivalent outputs). I/O: ``materialise`` (inputs by digest, the code at
its commit), ``rerun`` (one step re-run as a tracked run), ``reuse`` (look-up and restore), ``upstream``
(the stale part of an ancestry in dependency order). Events and tables: ``records``.
"""

from __future__ import annotations

from .predicate import InputFact, Reproducibility, RunFacts, RunVerdict, Term, assess, predicate

__all__ = ["InputFact", "Reproducibility", "RunFacts", "RunVerdict", "Term", "assess", "predicate"]
