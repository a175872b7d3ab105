"""``python -m skmtl``: the ``skmtl`` command."""

import sys

from .cli import main

sys.exit(main())
