"""``manage.py create_api_token <workspace slug> <name>``: print a new API token once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Workspace
from evals import tokens


class Command(BaseCommand):
    help = "Create an API token for a workspace and print it (it is shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("name", help="what uses the token, such as the system's name")

    def handle(self, *args, workspace: str, name: str, **options) -> None:
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        try:
            _, plain = tokens.create_token(found, name)
        except tokens.TokenNameError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(plain)
