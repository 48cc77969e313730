"""The Django admin, with what an operator should see first on its index: callbacks of the last
hour the desk did not recognise or could match to no call, the sign of a PHLO set up wrongly."""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils import timezone

ATTENTION_WINDOW = timedelta(hours=1)


class DeskAdminSite(admin.AdminSite):
    site_header = "Agent Desk administration"
    site_title = "Agent Desk admin"
    index_template = "admin/desk_index.html"

    def index(self, request, extra_context=None):
        from calls.selectors import callbacks_needing_attention

        since = timezone.now() - ATTENTION_WINDOW
        return super().index(request, {**(extra_context or {}), "callbacks": callbacks_needing_attention(since)})


class DeskAdminConfig(AdminConfig):
    default_site = "contactcenter.admin_site.DeskAdminSite"


