"""The shared customer record: records, identities, resolution, merge, CSV import and export, and
the timeline of everything that happened with a customer."""
