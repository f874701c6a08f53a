"""Knowledge base: articles, indexing, search, suggestions and feedback."""
