"""Requests that declare a body bigger than any the desk takes are answered 413 before the body is
read: Django would otherwise copy it into its own buffer (memory, then a temporary file) before
its own limit refuses it.

Daphne itself reads a whole body into memory before the application sees the request, and has no
option to cap it; the limit in front of Daphne is the proxy's (`client_max_body_size`,
docs/deploy.md). Servers that stream bodies (uvicorn, hypercorn) stop reading here.
"""

import json

from django.conf import settings


class DeclaredBodyLimit:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _declared_length(scope) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            body = json.dumps(
                {"detail": f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."}
            ).encode()
            await send({
                "type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), (b"connection", b"close")],
            })
            await send({"type": "http.response.body", "body": body})
            return None
        return await self.application(scope, receive, send)


def _declared_length(scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0  # not a number: Django answers it
    return 0
