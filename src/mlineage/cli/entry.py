"""The ``mlineage`` console script: a quick path for ``status`` before click and the commands load.

``mlineage status`` on a clean tree is answered from pointer files and the stat cache alone
(``mlineage.data.quick``); on any change, option or doubt it falls through to the full CLI.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["status"] and "MLINEAGE_URI" not in os.environ:
        from ..data.quick import quick_status

        if quick_status(sys.argv[2:]):
            return
    from .main import main as full_main

    full_main()


if __name__ == "__main__":  # pragma: no cover
    main()
