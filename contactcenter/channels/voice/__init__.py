"""The phone channel (Twilio): webhooks' logic, calls, putting calls through, recordings, TwiML."""
