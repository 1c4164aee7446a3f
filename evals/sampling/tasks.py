"""Sampling tasks: one run of a rule, and the beat that starts due rules."""

from celery import shared_task

from evals.sampling import rules


@shared_task(name="evals.tasks.run_sampling", acks_late=True, ignore_result=True)
def run_sampling(job_id: int) -> None:
    """One sampling run: freeze the picks, then add them to the queue batch by batch."""
    rules.run_job(job_id)


@shared_task(name="evals.tasks.run_due_sampling_rules", acks_late=True, ignore_result=True)
def run_due_sampling_rules() -> int:
    """Beat: start a run for every sampling rule whose schedule is due."""
    return rules.run_due_rules()
