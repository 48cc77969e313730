"""Socket tickets (docs/integrations.md): `POST /api/ws-ticket/` → `{"ticket"}`, usable
once, within TICKET_SECONDS, as `ws://HOST/ws/dashboard/?ticket=T`.

A client that authenticates with a long-lived credential (a token, an acting API key) would
otherwise put it in the socket's URL, which proxies and servers write to their access logs. A
ticket in a logged URL is worth nothing: used already, or expired seconds later. Tickets live in
the database, so the process that issues one and the process that takes it need not be the same;
only a hash is stored, and the conditional delete that takes a ticket succeeds on one socket only.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import SocketTicket

TICKET_SECONDS = 30


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def ticket_issue(user) -> str:
    now = timezone.now()
    SocketTicket.objects.filter(expires_at__lt=now).delete()  # what nobody took; indexed, usually nothing
    ticket = secrets.token_urlsafe(32)
    SocketTicket.objects.create(digest=_digest(ticket), user=user, expires_at=now + timedelta(seconds=TICKET_SECONDS))
    return ticket


def ticket_take(ticket: str):
    """The active user the ticket was issued to, if it is unused and not expired; it is used now."""
    digest = _digest(ticket)
    row = SocketTicket.objects.select_related("user").filter(digest=digest, expires_at__gt=timezone.now()).first()
    if row is None:
        return None
    taken, _ = SocketTicket.objects.filter(digest=digest).delete()
    if not taken:
        return None  # another socket, maybe on another process, took it first
    return row.user if row.user.is_active else None


class SocketTicketView(APIView):
    """A one-time ticket to open the dashboard socket without a credential in its URL."""

    @extend_schema(
        request=None,
        responses={200: inline_serializer("SocketTicket", {"ticket": serializers.CharField()})},
        description=f"Use it once, within {TICKET_SECONDS} s: `ws://HOST/ws/dashboard/?ticket=TICKET`.",
    )
    def post(self, request):
        return Response({"ticket": ticket_issue(request.user)})
