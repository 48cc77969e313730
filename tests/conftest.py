"""Shared fixtures. Real parts: a redis-server per session, Daphne stacks in tests/support/servers.py."""

import httpx
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AgentFactory, PhloAppFactory
from tests.support.servers import RedisServer


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Nothing a test's rolled-back rows left in a process cache reaches the next test."""
    from django.core.cache import cache

    from calls.core import queues
    from calls.intake import known_apps

    cache.clear()
    queues.forget(None)
    known_apps.forget(None)
    yield
    queues.forget(None)


@pytest.fixture
def phlo_app(db):
    return PhloAppFactory()


@pytest.fixture
def agent(db):
    return AgentFactory(user__username="alice", name="Alice Agent", address="+14155550101")


@pytest.fixture
def other_agent(db):
    return AgentFactory(user__username="oscar", name="Oscar Other", address="+14155550102")


@pytest.fixture
def supervisor(db):
    return AgentFactory(user__username="sam", name="Sam Supervisor", address="+14155550199", is_supervisor=True)


def token_client(agent_or_none) -> APIClient:
    client = APIClient()
    if agent_or_none is not None:
        token, _ = Token.objects.get_or_create(user=agent_or_none.user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_for():
    """`api_for(agent)` → an APIClient authenticated by that agent's token (`None`: anonymous)."""
    return token_client


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_layer(settings, redis_server):
    """Switch the channel layer to channels-redis on the session's real redis-server."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "prefix": "cc-test"},
        }
    }
    channel_layers.backends.clear()
    yield redis_server
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
async def http():
    """An HTTP client for tests that talk to real servers over loopback."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
