from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from agents.accounts import agent_create_or_update


class Command(BaseCommand):
    help = "Create or update an agent (and their login). Running it again updates, never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--address", required=True, help="E.164 digits (optional +) or sip:user@host")
        parser.add_argument("--name", default="", help="Full name shown on the desk and the wall")
        parser.add_argument("--supervisor", action="store_true", help="Sees and acts on every call")

    def handle(self, *args, username, password, address, name, supervisor, **options):
        if not username.strip() or len(username) > 150:
            raise CommandError("USERNAME must be 1 to 150 characters.")
        if len(password) < 8:
            raise CommandError("--password must be at least 8 characters.")
        try:
            agent, created = agent_create_or_update(
                username=username, password=password, address=address, name=name, is_supervisor=supervisor
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        role = "supervisor" if agent.is_supervisor else "agent"
        self.stdout.write(f"{'Created' if created else 'Updated'} {role} {username} ({agent.address}).")
