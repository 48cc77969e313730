"""Daphne's requests without Twisted's own parsing of form bodies.

Twisted's `http.Request` parses every POST form body into `request.args` before Daphne sees the
request: the Content-Type through the `email` package, then the body (urlencoded or multipart).
Daphne never reads `args`; it hands the raw body to the application, which parses it again
(Django, or the callback intake). That first parse was 2.6 % of the server's samples at 100
callbacks/s (docs/benchmarks.md), and a multipart body it cannot parse was answered by Twisted
itself, an empty 400 the desk never saw nor logged. Twisted's `parsePOSTFormSubmission=False`
(a parameter of its `Request`) turns it off; Daphne has no option for it, so its request class is
given one that passes it.

Daphne's `HTTPFactory.buildProtocol` reads `daphne.http_protocol.WebRequest` each time it builds a
connection, so replacing that name before the server starts is enough; tests/test_fastpath.py
fails if that stops being so.
"""

from __future__ import annotations

from daphne import http_protocol


class WebRequestWithoutFormParsing(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


def install() -> None:
    """Make every connection Daphne builds from now on use the request class above."""
    if http_protocol.WebRequest is not WebRequestWithoutFormParsing:
        http_protocol.WebRequest = WebRequestWithoutFormParsing
