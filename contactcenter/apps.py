"""Django's admin app, serving the desk's admin site (contactcenter/admin_site.py). Apart from the
site, so that loading the app imports no models (the site's module does)."""

from django.contrib.admin.apps import AdminConfig


class DeskAdminConfig(AdminConfig):
    default_site = "contactcenter.admin_site.DeskAdminSite"
