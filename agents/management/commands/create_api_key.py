from django.core.management.base import BaseCommand, CommandError

from agents.api_keys import KEYWORD, KeyRefused, api_key_create


class Command(BaseCommand):
    help = (
        "Create an integrator's API key and print it, this once: only its hash is kept. Requests send it as "
        f"`Authorization: {KEYWORD} KEY` and read what a supervisor reads (and act, unless --read-only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who uses it: letters, digits, dots, dashes, underscores (e.g. crm-sync)")
        parser.add_argument("--read-only", action="store_true", help="Reads only: every change is refused (403)")

    def handle(self, *args, name, read_only, **options):
        try:
            row, key = api_key_create(name=name, read_only=read_only)
        except KeyRefused as exc:
            raise CommandError(str(exc)) from None
        rights = "read-only" if row.read_only else "reads and acts"
        self.stdout.write(f"Created API key {row.name!r} ({rights}). The key, shown this once; keep it secret:")
        self.stdout.write(key)
