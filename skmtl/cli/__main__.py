"""``python -m skmtl.cli``."""

import sys

from . import main

sys.exit(main())
