"""PostgreSQL's configuration files as the server reads them: pg_hba.conf and postgresql.conf."""
