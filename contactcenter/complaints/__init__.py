"""Complaint cases: records and the sweep that sends what falls due."""
