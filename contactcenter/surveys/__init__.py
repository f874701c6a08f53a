"""Satisfaction surveys: records, and sending them by mail."""
