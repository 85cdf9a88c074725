"""`python -m ragloop`: the `ragloop` command."""

import sys

from ragloop.cli import main

sys.exit(main())
