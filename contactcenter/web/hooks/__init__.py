"""Webhooks that other services call: Twilio's voice webhooks, signed as Twilio signs them."""
