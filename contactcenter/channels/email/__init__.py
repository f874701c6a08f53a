"""The email channel: mail kept as it came and read into the queue, the SMTP receiver, IMAP
polling."""
