"""RemoteStore and NamespacedStore implement every method of the MetadataStore protocol: a method added to the
protocol without them would surface as a 500 on the server or an AttributeError for remote clients."""

from __future__ import annotations

import inspect

import pytest

from mlineage.server.namespaces import NamespacedStore
from mlineage.stores.protocol import MetadataStore
from mlineage.stores.remote import RemoteStore

METHODS = sorted(name for name, value in vars(MetadataStore).items()
                 if inspect.isfunction(value) and not name.startswith("_"))


@pytest.mark.parametrize("cls", [RemoteStore, NamespacedStore], ids=lambda c: c.__name__)
def test_every_protocol_method_is_implemented(cls: type) -> None:
    missing = [name for name in METHODS if not callable(getattr(cls, name, None))]
    assert not missing, f"{cls.__name__} lacks {missing}"
