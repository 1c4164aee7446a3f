from celery import shared_task

from annotate.assignment import reap_expired_leases as reap


@shared_task(acks_late=True, ignore_result=True)
def reap_expired_leases() -> int:
    """Return expired leases' slots to their items. Idempotent, so safe to run twice."""
    return reap()
