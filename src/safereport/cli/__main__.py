"""`python -m safereport.cli`, as the tests and benchmarks run it."""

import sys

from safereport.cli import main

sys.exit(main())
