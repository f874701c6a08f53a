"""Workflows: IVR flows, SLA timers, acknowledgements, surveys, callbacks, business hours."""
