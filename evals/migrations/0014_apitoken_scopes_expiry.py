"""API tokens get scopes (what they may do) and an optional expiry.

Tokens made before this migration keep every scope (they could do everything before)
and never expire; they still stop working unless their maker is an admin or engineer
of the workspace (see docs/security.md).
"""

from django.db import migrations, models

ALL_SCOPES = "logs:write,items:write,read,exports,imports"
SCOPES_PATTERN = (
    "^(logs:write|items:write|read|exports|imports)"
    "(,(logs:write|items:write|read|exports|imports))*$"
)


class Migration(migrations.Migration):
    dependencies = [
        ("evals", "0013_judge_run_lost_calls"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.CharField(
                default=ALL_SCOPES,
                help_text="What the token may do: TokenScope values, comma-separated.",
                max_length=100,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, help_text="Never, when empty.", null=True),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(scopes__regex=SCOPES_PATTERN), name="apitoken_scopes_known"
            ),
        ),
    ]
