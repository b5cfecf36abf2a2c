"""``python -m campus_ops`` is the ``campus-ops`` command."""

import sys

from .cli import main

sys.exit(main())
