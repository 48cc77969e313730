"""DRF permissions built on the one supervisor rule (agents/models.py: supervises)."""

from rest_framework.permissions import BasePermission

from agents.models import Agent, supervises


class IsSupervisor(BasePermission):
    message = "Only supervisors may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return supervises(user, Agent.objects.filter(user=user).first())
