"""The data-versioning fixtures (a project on each metadata backend) for the dataset tests."""

from tests.data.conftest import data_project, sqlite_project  # noqa: F401
