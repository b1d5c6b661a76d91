"""Persistence: models, migrations, sessions, pseudonyms and encryption."""
