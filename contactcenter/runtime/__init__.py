"""The process around the service: the clock, logs, the cycle collector's tuning, work in rounds
and in batches, and how fast one client may go."""
