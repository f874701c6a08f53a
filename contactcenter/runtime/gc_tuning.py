"""Process-wide settings of the Python runtime that the service runs with."""

from __future__ import annotations

import gc

# The routing engine keeps every waiting interaction and free agent in heaps of small objects.
# CPython's default first threshold (700) runs the cycle collector so often that it took a fifth
# of the engine's time in bench/routing.py. A much larger one (100,000) made each pass walk so
# many young objects that it paused the event loop for 60-90 ms, which showed as the p99 of
# enqueue-to-offer. 10,000 keeps a pass within a few milliseconds to ~20 ms at 20,000 queued
# while reference counting frees almost everything before it runs.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Run the cycle collector less often (see GC_THRESHOLDS); called once at service start."""
    gc.set_threshold(*GC_THRESHOLDS)
