"""The web chat channel: the bot, the queue, agents' lines, frames, visitors, identities."""
