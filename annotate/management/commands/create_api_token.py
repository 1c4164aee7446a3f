"""``manage.py create_api_token <workspace slug> <name> --user U --scope S [--expires-days N]``:
print a new API token once.

Every token has a maker: ``--user`` names the admin or engineer of the workspace who
owns it, and the token stops working when they leave the workspace or lose that role.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate import tokens
from annotate.models import TokenScope, Workspace


class Command(BaseCommand):
    help = (
        "Create an API token for a workspace and print it (it is shown only this once). "
        f"Scopes: {', '.join(TokenScope.values)}."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("name", help="what uses the token, such as the system's name")
        parser.add_argument(
            "--user",
            required=True,
            help="username of the admin or engineer of the workspace who owns the token",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scope",
            help=f"a scope the token gets; repeat for more ({', '.join(TokenScope.values)})",
        )
        parser.add_argument("--scopes", default="", help="scopes, comma-separated")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="days until the token stops working (default: it never expires)",
        )

    def handle(self, *args, workspace: str, name: str, user: str, **options) -> None:
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        maker = get_user_model().objects.filter(username=user).first()
        if maker is None:
            raise CommandError(f"No user with the username {user!r}.")
        scopes = options["scope"] + [s for s in options["scopes"].split(",") if s.strip()]
        try:
            _, plain = tokens.create_token(
                found, name, maker, scopes=scopes, expires_days=options["expires_days"]
            )
        except tokens.TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(plain)
