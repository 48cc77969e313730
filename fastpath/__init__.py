"""Where the product goes around its frameworks for speed, all in one place.

Each piece was bought by a measured gain (docs/benchmarks.md) and leans on how a framework works
inside, which a framework may change in any release. So each is listed here with the version it
was written for; tests/test_fastpath.py fails loudly when an installed version differs, or when
the framework code a piece copies or relies on has changed, and names the piece to re-check.

- `middleware`: Django's `MiddlewareMixin.__acall__` sends every sync hook to a thread under ASGI;
  here each runs inline on the event loop. Django 5.2. Bought: a bare view 7.0 → 3.1 ms CPU per
  request; bare sustained 100 → 250-300/s.
- `asgi_handler`: Django's `ASGIHandler` sends `request_started` and closes every response through
  `sync_to_async`: a thread started per request and another to join it, for receivers with
  nothing to do when the request opened no connection; here they run inline then. Django 5.2,
  asgiref 3.13. Bought: 0.93-1.01 → 0.21 ms of CPU per request in-process (`python -m
  bench.handler`).
- `daphne_request`: Twisted parses every POST form body into `request.args`, which Daphne never
  reads, before the application parses it again; here Daphne's requests pass Twisted's
  `parsePOSTFormSubmission=False`. Daphne 4.2, Twisted 26.10. Bought: 2.6 % of the server's
  samples at 100/s of hold/unhold; a multipart body Twisted could not parse is now the desk's
  400, not Twisted's empty one.
- `api_view`: adrf's `async_dispatch`, with DRF's `initial` on a kept thread. adrf 0.1.14, DRF
  3.18. Bought (with `db_threads`): action overhead 39.3 → 22.8 ms.
- `db_threads`: Django's thread and connection per request under ASGI; here a few threads keep
  theirs. Django 5.2, asgiref 3. Bought: as `api_view`.
- `group_commit`: one transaction per request; here the callbacks that queued meanwhile commit
  together, a savepoint each. Django 5.2. Bought: CPU per callback at 100/s 18.9 → 15.9 ms.
- `prepared`: Django's SQL compiler on every query; here the callback's reads are compiled once per
  process, the store's UPDATEs of a call and its members built once per set of columns, with
  `post_save` sent as a save sends it, and the callback's row inserted as `bulk_create` would,
  by SQL built once. Django 5.2. Bought: reads, part of 19.8 → 18.1 ms per callback at 50/s;
  writes, the intake 2.9-3.4 → 2.6-2.8 ms per callback in-process, 8.4 → 7.3 ms per callback of
  the whole server at 100/s; the insert, about 6 % of the samples at 100/s of hold/unhold.
- `frames`: Channels' `send`, Daphne's reply handler and autobahn's `sendMessage`; here text frames
  are written to Daphne's transport. Daphne 4.2, autobahn 26.11, Channels 4.3. Bought: CPU per
  callback 18.1 → 16.6 ms at 50/s, 24.4 → 21.0 at 1,050 sockets. It also counts what a socket's
  client has not been sent yet, on either way (autobahn's queue, Twisted 26.10's transport buffers,
  which have no public getter), so a socket whose client stops reading is closed at 1 MiB.
- `receive`: Channels' `dispatch` hops to a thread to close old database connections before every
  frame a client sends; here `websocket.receive` goes straight to its handler. Channels 4.3.
  Bought: a flood of 6,000 client frames 1.0 → 0.22 s of CPU.

Two smaller ones stay where they act, for the same reasons: the garbage collector frozen after
start-up (`contactcenter/asgi.py`: p99 92-96 → 59 ms) and the socket's user decided once at
connect, without Channels' session wrapper around every `send` (`contactcenter/ws_auth.py`).

No app of the product is imported here.
"""

# The versions each piece was written and measured against (major.minor). tests/test_fastpath.py
# compares them with what is installed.
WRITTEN_FOR = {
    "django": "5.2",
    "asgiref": "3.13",
    "djangorestframework": "3.18",
    "adrf": "0.1",
    "channels": "4.3",
    "daphne": "4.2",
    "autobahn": "26.11",
    "twisted": "26.10",
}
