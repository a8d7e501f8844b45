"""The schema revision this code expects, in a module light enough for the start-up path to import (checking
it must not cost an import of SQLAlchemy or Alembic)."""

HEAD_REVISION = "0010"
