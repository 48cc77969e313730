"""Django's own middleware, without the thread hops on the async path.

Under ASGI, Django's `MiddlewareMixin` calls every sync `process_request` and `process_response`
through `sync_to_async`: a trip to a worker thread and back for each, fourteen for our stack on
every request, and more CPU than everything else a callback costs (docs/benchmarks.md). These
hooks do no I/O: they set headers, read cookies and build lazy objects. So here they run inline on
the event loop. The two that can touch the database, saving a changed session and storing flash
messages, still go to a thread, and only when they have that work to do.

Sync requests (the test client, WSGI) run Django's classes unchanged.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import ImproperlyConfigured
from django.middleware import clickjacking, common, csrf, security


class InlineHooks:
    """Mixed in before one of Django's middleware classes whose hooks are safe on the event loop."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(self) and hasattr(self, "process_view"):
            # Django adapts a sync process_view to async with another hop; hand it an async one.
            run_inline = self.process_view

            async def process_view(request, view_func, view_args, view_kwargs):
                return run_inline(request, view_func, view_args, view_kwargs)

            self.process_view = process_view

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_database(request):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
            else:
                response = self.process_response(request, response)
        return response

    def response_needs_database(self, request) -> bool:
        return False


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    pass


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    def response_needs_database(self, request) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    # Safe inline while the token lives in a cookie; CSRF_USE_SESSIONS would read the session.
    def __init__(self, get_response):
        if settings.CSRF_USE_SESSIONS:
            raise ImproperlyConfigured("CSRF_USE_SESSIONS reads the session from the database on every request.")
        super().__init__(get_response)


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    pass  # request.user is lazy: the session is read where it is first used, not here


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    def response_needs_database(self, request) -> bool:
        storage = getattr(request, "_messages", None)  # messages read or added: stored in the session
        return storage is not None and (storage.used or storage.added_new)


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    pass


class BothWays:
    """A middleware of our own that runs as plain sync code under WSGI and inline on the event loop
    under ASGI: Django adapts a middleware only when it cannot run the way it is called, so saying
    both is what keeps it off the thread pool. Subclasses write `__call_sync__` and `__acall__`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        return self.__acall__(request) if self.is_async else self.__call_sync__(request)

    def __call_sync__(self, request):
        raise NotImplementedError

    async def __acall__(self, request):
        raise NotImplementedError
