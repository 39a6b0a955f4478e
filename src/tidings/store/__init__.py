"""Storage: one SQLAlchemy Core schema over SQLite and PostgreSQL, Alembic migrations."""
