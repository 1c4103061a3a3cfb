# The 課長・代決者 designations moved to the access room (approval routes serve three rooms now).
# Django's model-move pattern, publication's half: the model leaves this app's state while its table
# is renamed in place (rows kept) to the name the access app's model uses; access 0003 takes it over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("publish", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApproverDesignation")],
            database_operations=[
                migrations.AlterModelTable(name="ApproverDesignation", table="access_approverdesignation"),
            ],
        ),
    ]
