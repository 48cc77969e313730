"""The framework-touching pieces (fastpath/) still stand on what they were written against: an
upgrade that changes a version or the framework code a piece copies or relies on fails here, by
name, before it can fail quietly in production (a piece that no longer applies would fall back
to the slow path, or worse, skip a step the framework added)."""

import hashlib
import inspect
from importlib.metadata import version

import pytest

from fastpath import WRITTEN_FOR


@pytest.mark.parametrize("package", sorted(WRITTEN_FOR))
def test_the_installed_framework_is_the_one_fastpath_was_written_for(package):
    installed = ".".join(version(package).split(".")[:2])
    assert installed == WRITTEN_FOR[package], (
        f"{package} is {version(package)}; fastpath/ was written for {WRITTEN_FOR[package]}. Re-read the pieces "
        f"that lean on it (fastpath/__init__.py), run the bench, then update WRITTEN_FOR."
    )


def _fingerprint(obj) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def test_adrfs_dispatch_is_still_the_one_api_view_copies():
    """fastpath/api_view.py is adrf's `async_dispatch` with `initial` moved to a kept thread: if adrf's
    changes, so must the copy."""
    from adrf.views import APIView

    assert _fingerprint(APIView.async_dispatch) == "5926f734eb685633", (
        "adrf's APIView.async_dispatch changed: port the change to fastpath/api_view.py, then update this fingerprint"
    )


def test_djangos_asgi_handler_is_still_the_one_asgi_handler_copies():
    """fastpath/asgi_handler.py is Django's `ASGIHandler.handle` with its signal sends and its closing
    inline where no thread has work; it relies on each request entering a ThreadSensitiveContext of
    its own (`__call__`), whose thread asgiref keeps in `SyncToAsync.context_to_thread_executor`."""
    from asgiref.sync import SyncToAsync
    from django.core.handlers.asgi import ASGIHandler

    assert _fingerprint(ASGIHandler.handle) == "98faeb5bef800331", (
        "Django's ASGIHandler.handle changed: port the change to fastpath/asgi_handler.py, then update this "
        "fingerprint"
    )
    assert _fingerprint(ASGIHandler.__call__) == "f756809e9c9308dc", (
        "Django's ASGIHandler.__call__ changed: check each request still has a ThreadSensitiveContext of its own"
    )
    assert hasattr(SyncToAsync, "thread_sensitive_context") and hasattr(SyncToAsync, "context_to_thread_executor")


def test_what_asgi_handler_decides_by_is_still_what_it_read():
    """fastpath/asgi_handler.py runs a response's closing and the request signals inline only where
    Django's and asgiref's code, as read, would give a thread nothing to do: closing a response is
    its resource closers and `request_finished`; the receivers are split sync and async; a
    thread-sensitive call goes to the caller's thread under async_to_sync, else to the context's."""
    from asgiref.sync import SyncToAsync
    from django.dispatch import Signal
    from django.http.response import HttpResponseBase

    assert _fingerprint(HttpResponseBase.close) == "84589f5b23acbb23", (
        "Django's HttpResponseBase.close changed: check it still does no I/O for a non-streamed response"
    )
    assert _fingerprint(Signal._live_receivers) == "0a7af5d851f7fd87", (
        "Django's Signal._live_receivers changed: check it still returns (sync receivers, async receivers)"
    )
    assert _fingerprint(SyncToAsync.__call__) == "6376e33c6d3d94c5", (
        "asgiref's SyncToAsync.__call__ changed: check how it picks a thread-sensitive call's thread, "
        "as fastpath/asgi_handler.py's _no_work_for_a_thread reads it"
    )


def test_daphne_builds_its_requests_from_the_class_daphne_request_installs():
    """fastpath/daphne_request.py replaces the request class Daphne's factory names at each
    connection, and passes Twisted's own switch for form parsing."""
    from daphne.http_protocol import HTTPFactory
    from twisted.web import http

    from fastpath import daphne_request

    daphne_request.install()
    protocol = HTTPFactory(server=None).buildProtocol(("127.0.0.1", 0))
    assert protocol.requestFactory is daphne_request.WebRequestWithoutFormParsing
    assert "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters
    assert "self._parsePOSTFormSubmission" in inspect.getsource(http.Request.requestReceived)


# The hooks fastpath/middleware.py runs inline on the event loop because they do no I/O (a changed
# session and flash messages excepted, sent to a thread). A change in any of them may add I/O.
INLINE_HOOKS = {
    "django.middleware.security.SecurityMiddleware": ("process_request", "process_response"),
    "django.contrib.sessions.middleware.SessionMiddleware": ("process_request", "process_response"),
    "django.middleware.common.CommonMiddleware": ("process_request", "process_response"),
    "django.middleware.csrf.CsrfViewMiddleware": ("process_request", "process_view", "process_response"),
    "django.contrib.auth.middleware.AuthenticationMiddleware": ("process_request",),
    "django.contrib.messages.middleware.MessageMiddleware": ("process_request", "process_response"),
    "django.middleware.clickjacking.XFrameOptionsMiddleware": ("process_response",),
}


def _hooks_fingerprint() -> str:
    from importlib import import_module

    digest = hashlib.sha256()
    for path, hooks in sorted(INLINE_HOOKS.items()):
        module, name = path.rsplit(".", 1)
        cls = getattr(import_module(module), name)
        for hook in hooks:
            digest.update(inspect.getsource(getattr(cls, hook)).encode())
    return digest.hexdigest()[:16]


def test_the_middleware_hooks_run_inline_are_the_ones_read():
    assert _hooks_fingerprint() == "28bb7c84e1658da0", (
        "a Django middleware hook that fastpath/middleware.py runs on the event loop changed: check it still "
        "does no I/O (else give its class a response_needs_database), then update this fingerprint"
    )


def test_daphne_still_hands_the_application_its_protocol_in_send():
    """fastpath/frames.py finds the socket's protocol in the ASGI `send` Daphne makes."""
    from daphne.server import Server

    assert "send=partial(self.handle_reply, protocol)" in inspect.getsource(Server.create_application)


def test_autobahns_protocol_still_has_what_frames_checks_before_writing():
    """fastpath/frames.py writes only to an open, uncompressed socket with nothing queued; it reads
    these attributes to know (missing ones would send every frame the slow way, quietly)."""
    import autobahn.websocket.protocol as protocol

    source = inspect.getsource(protocol)
    for needed in ("self.send_queue", "self.send_state", "self.transport", "_perMessageCompress"):
        assert needed in source, needed
    assert {"STATE_OPEN", "SEND_STATE_GROUND"} <= set(vars(protocol.WebSocketProtocol))


def test_bulk_create_still_inserts_what_prepared_insert_writes():
    """fastpath/prepared.py `PreparedInsert` writes every concrete column but the primary key,
    each value by `pre_save` then `get_db_prep_save`, as Django's INSERT compiler does."""
    from django.db.models import query
    from django.db.models.sql import compiler

    inserts = compiler.SQLInsertCompiler
    assert "return field.pre_save(obj, add=True)" in inspect.getsource(inserts.pre_save_val)
    prepares = inspect.getsource(inserts.prepare_value)
    assert "return field.get_db_prep_save(value, connection=self.connection)" in prepares
    bulk = inspect.getsource(query.QuerySet.bulk_create)
    assert "fields = [f for f in opts.concrete_fields if not f.generated]" in bulk


def test_twisteds_transport_still_keeps_its_unsent_bytes_where_frames_counts_them():
    """fastpath/frames.py counts what a socket's client has not been sent from Twisted's own buffers
    (no public getter): if they move, a client that stops reading would be buffered for without end."""
    from twisted.internet import abstract

    descriptor = abstract.FileDescriptor
    assert {"dataBuffer", "offset"} <= set(vars(descriptor))
    assert "self._tempDataLen = 0" in inspect.getsource(descriptor.__init__)
    assert "len(self.dataBuffer) + self._tempDataLen" in inspect.getsource(descriptor._isSendBufferFull)
    assert "self.offset += l" in inspect.getsource(descriptor.doWrite)



def test_channels_dispatch_still_only_closes_old_connections_before_a_handler():
    """fastpath/receive.py skips Channels' `dispatch` for a client's frames: if it does more than find
    the handler and close old database connections, receive.py must do it too."""
    from channels.consumer import AsyncConsumer

    assert _fingerprint(AsyncConsumer.dispatch) == "39f34e7d4fb0f655", (
        "Channels' AsyncConsumer.dispatch changed: check what fastpath/receive.py skips, then update this fingerprint"
    )
