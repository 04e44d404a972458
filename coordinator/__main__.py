"""``python -m coordinator serve|submit|jobs`` (see coordinator/cli.py)."""

import sys

from .cli import main

sys.exit(main())
