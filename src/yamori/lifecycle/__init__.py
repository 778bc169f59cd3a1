"""Software's end of support: the installed distribution (distro-info-data) and PostgreSQL majors."""
