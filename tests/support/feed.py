"""A page's dashboard socket fed by the test: the contract's shapes, whoever made them.

The proxy passes the server's messages through until the test sends its first one; from then on
the page hears only the test. Otherwise a server message (a presence tick, the queue's figures)
arriving after a made-up one is a gap in `seq`, the page asks for a snapshot
(static/pages/js/socket.js), and the server's truth replaces the world the test is reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import Page

DASHBOARD_SOCKET = re.compile(r"/ws/dashboard/$")


def socket_feed(page: Page) -> Callable[[dict], None]:
    """Route `page`'s dashboard socket through a proxy; returns send(message), which numbers the
    message after the last one the page saw and gives it to the page."""
    socket: dict = {"seq": 0, "server_heard": True}

    def proxy(ws):
        server = ws.connect_to_server()
        socket["page"] = ws
        ws.on_message(lambda message: server.send(message))

        def from_server(message):
            if socket["server_heard"]:
                socket["seq"] = json.loads(message).get("seq", socket["seq"])
                ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(DASHBOARD_SOCKET, proxy)

    def send(message: dict) -> None:
        socket["server_heard"] = False
        socket["seq"] += 1
        socket["page"].send(json.dumps({**message, "seq": socket["seq"]}))

    return send
