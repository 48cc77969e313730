# The history's read model (calls.models.AgentCall, docs/history.md): one row per agent per
# finished call, filled for the calls that ended before it existed.

import django.db.models.deletion
from django.db import migrations, models

FILL = """
INSERT INTO calls_agentcall (agent_id, call_id, ended_at)
SELECT DISTINCT m.agent_id, m.call_id, c.ended_at
FROM calls_member m JOIN calls_call c ON c.id = m.call_id
WHERE m.agent_id IS NOT NULL AND c.status = 'ended' AND c.ended_at IS NOT NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0002_status_rules'),
        ('calls', '0002_routing_monitoring_history'),
    ]

    operations = [
        migrations.CreateModel(
            name='AgentCall',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ended_at', models.DateTimeField(help_text="The call's end: the history's order.")),
                ('agent', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='agents.agent')),
                ('call', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='calls.call')),
            ],
            options={
                'indexes': [models.Index(fields=['agent', '-ended_at', '-call'], name='agent_history')],
                'constraints': [models.UniqueConstraint(fields=('agent', 'call'), name='one_row_per_agent_and_call')],
            },
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
