from django.db import migrations, models


def earlier_wrap_ups(apps, schema_editor):
    """A call wrapped up before wrap-ups were each person's own keeps what it had, as the wrap-up of
    whoever saved it last (the newest wrap-up Action), so the next person's save adds to it."""
    Call = apps.get_model("calls", "Call")
    Action = apps.get_model("calls", "Action")
    Agent = apps.get_model("agents", "Agent")
    wrapped = Call.objects.exclude(notes="", disposition__isnull=True).select_related("disposition")
    for call in wrapped.iterator(chunk_size=500):
        last = Action.objects.filter(call=call, action="wrap-up").order_by("-created_at", "-id").first()
        user_id = last.actor_id if last else None
        agent = Agent.objects.filter(user_id=user_id).select_related("user").first() if user_id else None
        saved_at = last.created_at if last else (call.ended_at or call.started_at)
        call.wrap_ups = [{
            "user": user_id,
            "agent": agent.pk if agent else None,
            "name": (agent.name or agent.user.username) if agent else "",
            "disposition": call.disposition.name if call.disposition_id else None,
            "disposition_id": call.disposition_id,
            "notes": call.notes,
            "saved_at": saved_at.isoformat().replace("+00:00", "Z"),
        }]
        call.save(update_fields=["wrap_ups"])


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0003_history_agent_calls"),
        ("agents", "0003_security_rate_counters"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="wrap_ups",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(earlier_wrap_ups, migrations.RunPython.noop),
    ]
