"""The index the reports count the calls of a quarter of an hour by (docs/reports.md, "How it is
fast"). The calls table is the large one: on PostgreSQL the index is built CONCURRENTLY, so the
desk's writes go on while it builds (docs/upgrades.md: additive, no long lock); elsewhere as any
index. Hence a migration of its own, outside a transaction."""

from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
            schema_editor.add_index(model, self.index, **concurrently)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
            schema_editor.remove_index(model, self.index, **concurrently)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("calls", "0008_reports"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="call",
            index=models.Index(
                condition=models.Q(("waiting_since__isnull", False)), fields=["waiting_since"], name="call_waited"
            ),
        ),
    ]
