"""Mail the email, fax and chat channels share: reading a mail, writing one, and the outbox."""
