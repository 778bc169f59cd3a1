"""Reading PostgreSQL's own logs: the prefix, stderr records, csvlog/jsonlog, the fast lane,
split reads of big files, and the catalog of authentication messages by version and language."""
