# The 課長・代決者 designations moved here from the publish app (approval routes serve three rooms now).
# Django's model-move pattern, access's half: publish 0002 renamed the table to this app's name with its
# rows, so this migration only adds the model to the state, and hands the content type (with its
# permissions and admin log entries) over to this app.

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODEL = "approverdesignation"


def _move_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    rows = content_type.objects.using(schema_editor.connection.alias)
    if not rows.filter(app_label=new, model=MODEL).exists():
        rows.filter(app_label=old, model=MODEL).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="publish", new="access")


def backwards(apps, schema_editor) -> None:
    _move_content_type(apps, schema_editor, old="access", new="publish")


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0002_unit_history"),
        ("publish", "0002_approverdesignation_to_access"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApproverDesignation",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("head", "課長（決裁権者）"), ("deputy", "代決者")], max_length=10, verbose_name="種別")),
                        ("valid_from", models.DateField(default=datetime.date(2000, 4, 1), verbose_name="有効開始日")),
                        ("valid_to", models.DateField(blank=True, null=True, verbose_name="有効終了日")),
                        ("unit", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="access.unit", verbose_name="所属")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="職員")),
                    ],
                    options={
                        "verbose_name": "決裁権者・代決者",
                        "verbose_name_plural": "決裁権者・代決者",
                        "ordering": ["unit_id", "kind", "valid_from"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
