"""A member's phone number's digits reversed, indexed: the history finds a number by its last digits
(README, "Pages") as a prefix search on this column. Existing members are filled in
batches, so a large history is never read or written at once."""

from django.db import migrations, models

BATCH = 5000


def digits_reversed(address: str) -> str:
    # As phlo/addresses.py: digits_reversed at the time of writing (a migration keeps its own copy).
    key = address[1:] if address.startswith("+") else address
    return key[::-1] if key.isdigit() else ""


def fill(apps, schema_editor):
    Member = apps.get_model("calls", "Member")
    last = 0
    while True:
        batch = list(Member.objects.filter(pk__gt=last).order_by("pk").only("pk", "address")[:BATCH])
        if not batch:
            return
        changed = []
        for member in batch:
            member.address_digits_reversed = digits_reversed(member.address)
            if member.address_digits_reversed:
                changed.append(member)
        Member.objects.bulk_update(changed, ["address_digits_reversed"], batch_size=BATCH)
        last = batch[-1].pk


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0006_queues"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="address_digits_reversed",
            field=models.CharField(blank=True, db_index=True, max_length=255),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
