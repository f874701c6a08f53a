"""Interactions: their records, messages and attachments, and their moves through their statuses."""
