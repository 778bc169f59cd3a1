"""yamori (家守): an operations companion for one person running a PostgreSQL-backed service."""

__version__ = "0.1.0"
