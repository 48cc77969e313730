from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.accounts import agent_create_or_update
from agents.skills import UnknownQueue, parse_skill, set_skills


class Command(BaseCommand):
    help = "Create or update an agent (and their login). Running it again updates, never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--address", required=True, help="E.164 digits (optional +) or sip:user@host")
        parser.add_argument("--name", default="", help="Full name shown on the desk and the wall")
        parser.add_argument("--supervisor", action="store_true", help="Sees and acts on every call")
        parser.add_argument(
            "--skill", action="append", default=None, metavar="QUEUE[:LEVEL]",
            help="A queue whose calls the agent takes, at a level 1-10 (default 5); repeatable. Given skills "
                 "replace the agent's skills; none given keeps them. An agent with no skill takes every queue.",
        )

    def handle(self, *args, username, password, address, name, supervisor, skill, **options):
        if not username.strip() or len(username) > 150:
            raise CommandError("USERNAME must be 1 to 150 characters.")
        if len(password) < 8:
            raise CommandError("--password must be at least 8 characters.")
        try:
            skills = dict(parse_skill(text) for text in skill) if skill is not None else None
        except ValueError as exc:
            raise CommandError(f"--skill {exc}") from None
        try:
            with transaction.atomic():
                agent, created = agent_create_or_update(
                    username=username, password=password, address=address, name=name, is_supervisor=supervisor
                )
                if skills is not None:
                    set_skills(agent, skills)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except UnknownQueue as exc:
            raise CommandError(str(exc)) from None
        role = "supervisor" if agent.is_supervisor else "agent"
        agent.refresh_from_db(fields=["skills_shown"])
        skills_text = ", ".join(f"{s['queue']}:{s['level']}" for s in agent.skills_shown) or "every queue"
        self.stdout.write(
            f"{'Created' if created else 'Updated'} {role} {username} ({agent.address}); takes {skills_text}."
        )
