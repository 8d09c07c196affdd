"""API tests: the app on loopback with the real dev server, PostgreSQL, the
simulators and a worker; the fixtures are those of the integration tests."""

from tests.integration.conftest import api, dev_server, it_settings, worker  # noqa: F401
