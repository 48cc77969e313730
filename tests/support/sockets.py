"""Reading a dashboard socket under channels' WebsocketCommunicator in tests."""

from __future__ import annotations

import json


async def drain(ws, timeout: float = 0.3) -> list[dict]:
    """Everything the socket sends until it has been quiet for `timeout` s; a close is reported as
    `{"type": "closed", "code"}`. (receive_nothing: a receive that times out would cancel the
    application under test.)"""
    messages = []
    while not await ws.receive_nothing(timeout=timeout):
        output = await ws.receive_output()
        if output["type"] == "websocket.close":
            messages.append({"type": "closed", "code": output.get("code")})
            break
        messages.append(json.loads(output["text"]))
    return messages


async def until_call_updated(ws, timeout: float = 10) -> list[dict]:
    """The messages up to and including the next `call.updated`: agents' statuses and the queue's
    figures go to every dashboard and may come first."""
    messages = [await ws.receive_json_from(timeout=timeout)]
    while messages[-1]["type"] != "call.updated":
        messages.append(await ws.receive_json_from(timeout=timeout))
    return messages
