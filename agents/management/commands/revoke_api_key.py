from django.core.management.base import BaseCommand, CommandError

from agents.api_keys import api_key_revoke
from agents.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an integrator's API key by name: every request with it gets 401 from now on, on every process."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        row = ApiKey.objects.select_related("user").filter(name=name).first()
        if row is None:
            raise CommandError(f"No API key is named {name!r}.")
        if api_key_revoke(row):
            self.stdout.write(f"Revoked API key {name!r}.")
        else:
            self.stdout.write(f"API key {name!r} was revoked already.")
