"""REST: the /api/v1 endpoints, one module per resource, each with its own route table."""
