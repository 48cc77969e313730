from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("agents", "0002_status_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("name", models.CharField(help_text="The limit and a hash of who it counts.", max_length=80,
                                          primary_key=True, serialize=False)),
                ("hits", models.IntegerField(default=0)),
                ("window_ends", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
