"""The seam through which a feature teaches ``refs.resolve`` a ``NAME@X`` / ``NAME#X`` form (the model
registry's ``fraud-model@production``). Kept free of imports so a feature can register while the catalogue is
still loading, whichever module was imported first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NamedResolver = Callable[[Any, str], Any]
"""(store, ref) -> the Artifact the ref names, or None to let the usual rules go on. Asked for refs with
``@`` or ``#``, and for a bare name that names no artifact version."""

NAMED_RESOLVERS: list[NamedResolver] = []


def register_named_resolver(resolver: NamedResolver) -> None:
    if resolver not in NAMED_RESOLVERS:
        NAMED_RESOLVERS.append(resolver)
