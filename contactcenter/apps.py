"""The project's app configs: Django's admin app serving the desk's admin site
(contactcenter/admin_site.py; apart from the site, so that loading the app imports no models: the
site's module does), and the project package itself, for its system checks."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class DeskAdminConfig(AdminConfig):
    default_site = "contactcenter.admin_site.DeskAdminSite"


class DeskConfig(AppConfig):
    """The project package as an app, for what Django finds through apps: its system checks."""

    name = "contactcenter"
    verbose_name = "Agent desk"

    def ready(self) -> None:
        from contactcenter import checks  # noqa: F401 - registers the deploy checks
