"""``python -m edge_agent`` is the ``edge-agent`` command."""

import sys

from .cli import main

sys.exit(main())
