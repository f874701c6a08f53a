"""The web edge: REST API, operations endpoints, and (later) the consoles and the chat widget."""
