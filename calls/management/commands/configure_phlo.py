import argparse
import re

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calls.models import PhloApp

# PHLO, node and auth ids go into PHLO API paths and our callback URL: keep them to safe characters.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Command(BaseCommand):
    help = "Create or update (by --phlo-id) a PHLO app and print its callback URL path."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--phlo-id", required=True)
        parser.add_argument("--node-id", required=True, help="ID of the PHLO's multiparty call node")
        parser.add_argument("--auth-id", required=True)
        parser.add_argument("--auth-token", required=True)
        parser.add_argument("--default", action="store_true", help="Use this PHLO for new outbound calls")
        parser.add_argument(
            "--routing", action=argparse.BooleanOptionalAction, default=None,
            help="Offer waiting customers to available agents (on for a new app; an update keeps the app's setting "
                 "unless this is given). --no-routing: the PHLO dials agents itself (docs/routing.md).",
        )

    def handle(self, *args, name, phlo_id, node_id, auth_id, auth_token, default, routing, **options):
        for label, value in (("--phlo-id", phlo_id), ("--node-id", node_id), ("--auth-id", auth_id)):
            if not SAFE_ID.fullmatch(value):
                raise CommandError(f"{label} must be letters, digits, '-' or '_' (at most 64), not {value!r}.")
        if not name.strip() or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters.")
        if not auth_token or len(auth_token) > 128 or not auth_token.isprintable():
            raise CommandError("--auth-token must be 1 to 128 printable characters.")
        with transaction.atomic():
            if default:
                PhloApp.objects.filter(is_default=True).exclude(phlo_id=phlo_id).update(is_default=False)
            settings = {"name": name, "node_id": node_id, "auth_id": auth_id, "auth_token": auth_token}
            if routing is not None:
                settings["routing"] = routing
            app, created = PhloApp.objects.update_or_create(phlo_id=phlo_id, defaults=settings)
            if default and not app.is_default:
                app.is_default = True
                app.save(update_fields=["is_default"])
            elif not PhloApp.objects.filter(is_default=True).exists():
                app.is_default = True  # the only PHLO app is the one new calls use
                app.save(update_fields=["is_default"])
        routed = "on" if app.routing else "off"
        self.stdout.write(f"{'Created' if created else 'Updated'} PHLO app {name} ({phlo_id}); routing {routed}.")
        self.stdout.write(f"Callback URL path: {app.callback_path}")
