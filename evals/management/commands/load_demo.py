"""Create the demo workspace (a patient-message assistant). Safe to run twice."""

from django.core.management.base import BaseCommand

from evals.demo import workspace as demo


def print_logins(write) -> None:
    """Write the demo logins, one per line, with the shared password."""
    write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for username, does in demo.logins():
        write(f"  {username:<17} {does}")


class Command(BaseCommand):
    help = "Load the demo workspace: ~300 logs, 9 users, a published rubric, two queues."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument("--logs", type=int, default=demo.DEFAULT_COUNT)

    def handle(self, *args, seed: int, logs: int, **options) -> None:
        workspace = demo.load_demo(seed=seed, count=logs)
        if workspace is None:
            self.stdout.write(
                f"The demo workspace '{demo.DEMO_SLUG}' already exists; nothing changed."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created the demo workspace '{workspace.name}' ({workspace.logs.count()} "
                    f"logs, {workspace.queues.count()} queues)."
                )
            )
        print_logins(self.stdout.write)
