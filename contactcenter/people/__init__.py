"""The people who work the queue: agents and groups, and the logins and API tokens of every user."""
