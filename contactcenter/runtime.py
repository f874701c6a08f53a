"""Process-wide settings of the Python runtime that the service runs with."""

from __future__ import annotations

import gc

# The routing engine keeps every waiting interaction and free agent in heaps of small objects;
# with CPython's default first threshold (700) the collector walks the young ones every few
# hundred allocations, which cost a fifth to a quarter of the engine's time in bench/routing.py.
# Reference counting frees almost everything; the cycle collector only needs to run rarely.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    """Run the cycle collector rarely (see GC_THRESHOLDS); called once at service start."""
    gc.set_threshold(*GC_THRESHOLDS)
