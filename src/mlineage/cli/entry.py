"""The ``mlineage`` console script: quick paths for ``status`` and ``add`` before click and the commands load.

``mlineage status`` on a clean tree is answered from pointer files and the stat cache alone
(``mlineage.data.quick``); on any change, option or doubt it falls through to the full CLI. A plain
``mlineage add PATH...`` runs the add command's own code without click (``mlineage.cli.data_quick``);
``mlineage verify-attestation`` starts hashing its model file before anything else loads, and a plain one
(``ATTESTATION MODEL_FILE --key PUB``) runs without click (``mlineage.cli.provenance_quick``).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["verify-attestation"]:  # hash the model file while the command loads
        from ..provenance.prehash import start_from_argv

        start_from_argv(sys.argv[2:])
        from .provenance_quick import plain_verify_args, quick_verify

        plain = plain_verify_args(sys.argv[2:])
        if plain is not None:
            sys.exit(quick_verify(*plain))
    if sys.argv[1:2] == ["status"] and "MLINEAGE_URI" not in os.environ:
        from ..data.quick import quick_status

        if quick_status(sys.argv[2:]):
            return
    if sys.argv[1:2] == ["add"]:
        from .data_quick import is_plain_add, quick_add

        if is_plain_add(sys.argv[2:]):
            sys.exit(quick_add(sys.argv[2:]))
    from .main import main as full_main

    full_main()


if __name__ == "__main__":  # pragma: no cover
    main()
