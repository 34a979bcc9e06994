"""The target's normalized DN, for group administrators' view of the audit log (filled for old rows)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    from mailadmin.audit.services import target_key

    entry = apps.get_model("audit", "AuditEntry")
    for row in entry.objects.exclude(target="").only("id", "target").iterator():
        key = target_key(row.target)
        if key:
            entry.objects.filter(pk=row.pk).update(target_key=key)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="target_key",
            field=models.CharField(blank=True, db_index=True, max_length=1024),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
