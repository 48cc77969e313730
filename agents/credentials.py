"""A person's credentials changed (a new password) or an operator revoked their API access: what
they opened with the old ones stops working. Their API tokens are deleted (logging in again
issues a new one) and, once the change commits, their open dashboards close with "sign in
again"; the ones opened with a session reconnect only if that session still holds (Django ends
the other sessions of someone whose password changed)."""

from rest_framework.authtoken.models import Token

from live import messages
from live.publish import publish_on_commit


def revoke_api_access(user_ids) -> int:
    """Returns how many tokens were revoked."""
    user_ids = list(user_ids)
    revoked, _ = Token.objects.filter(user_id__in=user_ids).delete()
    publish_on_commit([messages.signed_out(user_id=user_id) for user_id in user_ids])
    return revoked
