"""Send committed changes to every process's hub: one `group_send` per change, whatever the
number of sockets. At-most-once: a loss is healed by resync (live/hub.py)."""

import logging
import time
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

GROUP = "dashboard.fanout"


async def publish(messages: Iterable[dict]) -> None:
    layer = get_channel_layer()
    for message in messages:
        message["at"] = time.time()  # committed by now: the start of the fan-out lag (metrics)
        try:
            await layer.group_send(GROUP, message)
        except Exception:  # the change is committed; dashboards resync when the layer is back
            logger.warning("could not publish a %s change; dashboards will resync", message["type"], exc_info=True)


def publish_on_commit(messages: list[dict]) -> None:
    """From sync code inside a transaction: publish once the change is committed."""
    if messages:
        transaction.on_commit(lambda: async_to_sync(publish)(messages))
