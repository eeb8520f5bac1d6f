"""``python -m mlsiege.checks MODULE`` or ``--all``: see :mod:`mlsiege.checks.runner`."""

import sys

from mlsiege.checks.runner import main

sys.exit(main())
