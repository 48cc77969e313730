from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calls.models import PhloApp, Queue


def _numbers(text: str) -> list[str]:
    return [number.strip() for number in text.split(",") if number.strip()]


class Command(BaseCommand):
    help = (
        "Create or update (by NAME) a queue: the numbers that reach it, its PHLO app, priority, service level "
        "and overflow (docs/routing.md, \"Queues\"). On an update, what is not given stays as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--numbers", help="The numbers customers dial to reach it, comma-separated (E.164)")
        parser.add_argument("--phlo-id", help="Calls of this PHLO app come here when their number names no queue")
        parser.add_argument("--priority", type=int, help="Higher first (default 0)")
        parser.add_argument("--service-level-seconds", type=int, help="Default: SERVICE_LEVEL_SECONDS")
        parser.add_argument("--overflow-to", metavar="QUEUE", help="After --overflow-after, its agents may help")
        parser.add_argument("--overflow-after", type=int, metavar="SECONDS")
        parser.add_argument("--default", action="store_true", help="Calls no other queue claims come here")

    def handle(self, *args, name, numbers, phlo_id, priority, service_level_seconds, overflow_to, overflow_after,
               default, **options):
        if not name.strip() or len(name) > 64:
            raise CommandError("NAME must be 1 to 64 characters.")
        if (overflow_to is None) != (overflow_after is None):
            raise CommandError("--overflow-to and --overflow-after go together.")
        if overflow_after is not None and overflow_after < 0:
            raise CommandError("--overflow-after is a number of seconds (0 or more).")
        if service_level_seconds is not None and service_level_seconds < 1:
            raise CommandError("--service-level-seconds is a number of seconds (1 or more).")
        with transaction.atomic():
            queue = Queue.objects.select_for_update().filter(name=name).first()
            created = queue is None
            if created:
                queue = Queue(name=name, service_level_seconds=settings.SERVICE_LEVEL_SECONDS)
            if numbers is not None:
                queue.numbers = _numbers(numbers)
            if phlo_id is not None:
                queue.phlo_app = self._app(phlo_id)
            if priority is not None:
                queue.priority = priority
            if service_level_seconds is not None:
                queue.service_level_seconds = service_level_seconds
            if overflow_to is not None:
                queue.overflow_to = self._queue(overflow_to)
                queue.overflow_after_seconds = overflow_after
            if default:
                Queue.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
                queue.is_default = True
            try:
                queue.full_clean()
            except ValidationError as exc:
                raise CommandError("; ".join(f"{field}: {' '.join(errors)}" for field, errors in
                                             exc.message_dict.items())) from None
            queue.save()
        overflow = (f"; overflows to {queue.overflow_to.name} after {queue.overflow_after_seconds} s"
                    if queue.overflow_to else "")
        level = queue.service_level_seconds or settings.SERVICE_LEVEL_SECONDS
        self.stdout.write(
            f"{'Created' if created else 'Updated'} queue {queue.name}: numbers {', '.join(queue.numbers) or 'none'}; "
            f"priority {queue.priority}; service level {level} s{overflow}"
            f"{'; the default queue' if queue.is_default else ''}."
        )

    def _app(self, phlo_id: str) -> PhloApp:
        app = PhloApp.objects.filter(phlo_id=phlo_id).first()
        if app is None:
            raise CommandError(f"No PHLO app {phlo_id!r}; add it first with configure_phlo.")
        return app

    def _queue(self, name: str) -> Queue:
        queue = Queue.objects.filter(name=name).first()
        if queue is None:
            raise CommandError(f"No queue {name!r} to overflow to; create it first.")
        return queue
