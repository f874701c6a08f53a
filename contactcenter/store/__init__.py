"""Storage: the schema, the database handle, migrations and the attachment store."""
