"""The routing engine: pure, deterministic, no I/O, the clock passed in (see DESIGN.md)."""
