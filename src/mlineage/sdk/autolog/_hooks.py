"""Post-import hooks: run a callback right after a module is imported, or at once if it already is.

This is what lets ``autolog()`` stay cheap: it never imports torch, transformers or scikit-learn itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

Callback = Callable[[ModuleType], None]


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, fullname: str, finder: _PostImportFinder) -> None:
        self._loader = loader
        self._fullname = fullname
        self._finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._finder.fire(self._fullname, module)

    def __getattr__(self, name: str) -> Any:  # resource readers, get_source, is_package...
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.hooks: dict[str, list[Callback]] = {}
        self._busy = threading.local()
        self._lock = threading.Lock()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.hooks:
            return None
        busy: set[str] = self._busy.__dict__.setdefault("names", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            busy.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _HookedLoader(spec.loader, fullname, self)
        return spec

    def fire(self, fullname: str, module: ModuleType) -> None:
        with self._lock:
            callbacks = self.hooks.pop(fullname, [])
        for callback in callbacks:
            callback(module)


_FINDER = _PostImportFinder()


def when_imported(fullname: str, callback: Callback) -> bool:
    """Call ``callback(module)`` now if ``fullname`` is imported (returns True), else right after its
    import."""
    module = sys.modules.get(fullname)
    if module is not None:
        callback(module)
        return True
    with _FINDER._lock:
        _FINDER.hooks.setdefault(fullname, []).append(callback)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return False
