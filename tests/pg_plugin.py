"""`--postgres`: run the suite against a throwaway PostgreSQL cluster instead of SQLite.

    .venv/bin/python -m pytest -p tests.pg_plugin --postgres -m "not slow"

The settings read DATABASE_URL once, at import, and pytest-django imports them while pytest
loads the initial conftests; so this has to be a plugin loaded with `-p` (a conftest would be
too late), and it starts the cluster in a wrapper around that hook, before Django sets up.
pytest-django then creates its `test_…` database on the cluster as usual; the cluster is
stopped and removed when pytest exits.
"""

import os

import pytest

cluster_key = pytest.StashKey()


def pytest_addoption(parser):
    parser.getgroup("django").addoption(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL cluster and run the tests on it (sets DATABASE_URL)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    if parser.parse_known_args(args).postgres:
        from tests.support.postgres import PostgresCluster

        cluster = PostgresCluster().start()
        early_config.add_cleanup(cluster.stop)
        early_config.stash[cluster_key] = cluster
        os.environ["DATABASE_URL"] = cluster.create_database("contactcenter")
    return (yield)


def pytest_configure(config):
    if cluster_key in config.stash:
        # The whole cluster is removed at the end, so keep the test database rather than drop it:
        # DROP DATABASE fails while a test's worker thread still holds a connection, and warns.
        config.option.reuse_db = True


def pytest_report_header(config):
    cluster = config.stash.get(cluster_key, None)
    if cluster is not None:
        return [f"database: throwaway PostgreSQL cluster on 127.0.0.1:{cluster.port} ({cluster.bindir})"]
    return None
