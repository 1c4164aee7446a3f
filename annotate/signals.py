"""Signals other apps listen to, so reviewing never imports what reacts to it."""

from django.dispatch import Signal

# Sent (sender=Queue, queue=...) inside the transaction that saved a pairwise judgment;
# evals.results.tasks recomputes the leaderboard after every N-th one, on commit.
pairwise_judgment_saved = Signal()
