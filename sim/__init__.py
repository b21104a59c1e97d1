"""Delivery-risk simulator for a multi-year action plan (the shipped params: Wenzhou's Ring-Daluo-Mountain corridor plan)."""

import os
from importlib.metadata import PackageNotFoundError, version

# The engine's matrix products are small (1,000 rows by a few dozen factors): BLAS threads only spin,
# and on a 2-core machine they take the core a second worker needs (measured on the shipped plan:
# 386 -> 282 us of CPU per replication). Set before numpy is first imported; a user's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    __version__ = version("daluo-sim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"
