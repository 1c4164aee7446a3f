"""Results of a rubric queue: filters, the few queries behind them, and the numbers per panel.

The page's numbers come from a handful of queries whose count never depends on the number
of judgments: the judgments are grouped in SQL by (model version, day, end-user feedback and
every scored answer) with a count, so 100,000 judgments on a 5-criterion rubric arrive as a
few hundred rows. pandas then computes every panel from that frame, using the counts as
frequency weights (exactly what a row-by-row computation gives). Reviewer activity has its
own two grouped queries. Normalization and weighting rules: ``evals/scoring.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, F, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotate.models import Cohort, Criterion, Item, Judgment, Queue

from . import scoring
from .stats import mean_ci, wilson_ci

NO_VERSION = "(none)"
PERIODS = ("day", "week")
METADATA_KEYS = ("topic", "locale")


@dataclass
class Filters:
    """What the results page is narrowed to. Blank means "all"."""

    model_version: str = ""
    cohort: int | None = None
    start: date | None = None
    end: date | None = None
    topic: str = ""
    locale: str = ""
    period: str = "day"

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Filters:
        """Read filters from query parameters, ignoring values that do not parse."""
        return cls(
            model_version=str(params.get("model_version", "")).strip()[:200],
            cohort=_int_or_none(params.get("cohort")),
            start=_date_or_none(params.get("start")),
            end=_date_or_none(params.get("end")),
            topic=str(params.get("topic", "")).strip()[:200],
            locale=str(params.get("locale", "")).strip()[:200],
            period=params.get("period") if params.get("period") in PERIODS else "day",
        )

    def as_params(self) -> dict[str, str]:
        """The non-blank filters as query parameters (for links and CSV downloads)."""
        out = {}
        for key, value in asdict(self).items():
            if value in (None, "") or (key == "period" and value == "day"):
                continue
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
        return out


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date_or_none(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def judgments_for(queue: Queue, filters: Filters) -> QuerySet[Judgment]:
    """The queue's judgments narrowed by ``filters``; everything stays inside the queue."""
    qs = Judgment.objects.filter(queue=queue)
    if filters.model_version:
        version = "" if filters.model_version == NO_VERSION else filters.model_version
        qs = qs.filter(item__model_version=version)
    if filters.cohort is not None:
        members = Cohort.members.through.objects.filter(
            cohort_id=filters.cohort, cohort__workspace_id=queue.workspace_id
        ).values("user_id")
        qs = qs.filter(reviewer_id__in=members)
    if filters.start:
        qs = qs.filter(created_at__gte=_day_start(filters.start))
    if filters.end:
        qs = qs.filter(created_at__lt=_day_start(filters.end + timedelta(days=1)))
    for key in METADATA_KEYS:
        value = getattr(filters, key)
        if value:
            qs = qs.filter(**{f"item__metadata__{key}": value})
    return qs


def criteria_of(queue: Queue) -> list[Criterion]:
    return list(queue.rubric_version.criteria.all())


def scored_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    return [c for c in criteria if c.kind in scoring.SCORED_KINDS]


# --- The one grouped query ------------------------------------------------------------


def load_frame(queue: Queue, filters: Filters, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Judgments grouped by model version, day, end-user feedback and every scored answer.

    Columns: ``model_version``, ``day`` (datetime64), ``negative`` (1.0 thumbs down, 0.0 not,
    NaN when the item has no source log), one parsed column per scored criterion key, and
    ``n`` (how many judgments share that row).
    """
    scored = scored_criteria(criteria)
    aliases = {f"a{index}": c for index, c in enumerate(scored)}
    rows = (
        judgments_for(queue, filters)
        .annotate(
            mv=F("item__model_version"),
            day=TruncDate("created_at"),
            neg=F("item__source_log__feedback_negative"),
            **{alias: KeyTextTransform(c.key, "answers") for alias, c in aliases.items()},
        )
        .values("mv", "day", "neg", *aliases)
        .annotate(n=Count("id"))
        .order_by()
    )
    frame = pd.DataFrame.from_records(
        list(rows.values_list("mv", "day", "neg", *aliases, "n")),
        columns=["model_version", "day", "negative", *aliases, "n"],
    )
    frame["model_version"] = frame["model_version"].replace("", NO_VERSION).astype(object)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["negative"] = (
        frame["negative"].map(lambda v: np.nan if v is None else float(bool(v))).astype(float)
    )
    frame["n"] = frame["n"].astype(int)
    for alias, criterion in aliases.items():
        frame[criterion.key] = scoring.parse(criterion, frame.pop(alias))
    frame["weighted"] = scoring.weighted_score(scored, {c.key: frame[c.key] for c in scored})
    for criterion in scored:
        if criterion.kind == "categorical":
            frame[score_column(criterion)] = scoring.normalize(criterion, frame[criterion.key])
    if frame.empty:
        frame["weighted"] = pd.Series(dtype=float)
    return frame


def score_column(criterion: Criterion) -> str:
    """The frame column holding a categorical criterion's 0..1 score (for its trend)."""
    return f"{criterion.key}:score"


def trend_column(criterion: Criterion) -> str:
    """The column whose mean a criterion's trend plots: raw mean, pass rate, or category score."""
    return score_column(criterion) if criterion.kind == "categorical" else criterion.key


def model_versions(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["model_version"].unique().tolist()) if not frame.empty else []


# --- Panels ----------------------------------------------------------------------------


def distribution(frame: pd.DataFrame, criterion: Criterion) -> pd.DataFrame:
    """Counts and shares of each answer of a discrete criterion, per model version.

    Every level appears for every version (zero counts included), in the rubric's order.
    """
    columns = ["model_version", "value", "label", "count", "share"]
    answered = frame[frame[criterion.key].notna()] if not frame.empty else frame
    versions = model_versions(answered)
    if not versions:
        return pd.DataFrame(columns=columns)
    counts = answered.groupby(["model_version", criterion.key])["n"].sum()
    rows = []
    for version in versions:
        total = int(counts.loc[version].sum())
        for value, label in scoring.levels(criterion):
            count = int(counts.get((version, value), 0))
            rows.append([version, value, label, count, count / total if total else 0.0])
    return pd.DataFrame(rows, columns=columns)


def _interval_row(interval) -> list:
    return [interval.n, interval.estimate, interval.low, interval.high]


def means(frame: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Mean answer with a 95% t-interval per likert/numeric criterion and model version."""
    columns = ["criterion", "model_version", "n", "mean", "low", "high"]
    rows = []
    for criterion in criteria:
        if criterion.kind not in scoring.MEAN_KINDS or frame.empty:
            continue
        for version, group in frame.groupby("model_version"):
            interval = mean_ci(group[criterion.key].to_numpy(), group["n"].to_numpy())
            if interval.n:
                rows.append([criterion.key, version, *_interval_row(interval)])
    return pd.DataFrame(rows, columns=columns)


def pass_rates(frame: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Pass rate with a Wilson 95% interval per pass/fail criterion and model version."""
    columns = ["criterion", "model_version", "n", "passes", "rate", "low", "high"]
    rows = []
    for criterion in criteria:
        if criterion.kind != "pass_fail" or frame.empty:
            continue
        for version, group in frame.groupby("model_version"):
            answered = group[group[criterion.key].notna()]
            n = int(answered["n"].sum())
            if not n:
                continue
            passes = int(answered.loc[answered[criterion.key] == 1.0, "n"].sum())
            interval = wilson_ci(passes, n)
            rows.append(
                [criterion.key, version, n, passes, interval.estimate, interval.low, interval.high]
            )
    return pd.DataFrame(rows, columns=columns)


def weighted(frame: pd.DataFrame) -> pd.DataFrame:
    """Weighted rubric score (0..1) with a 95% t-interval per model version."""
    columns = ["model_version", "n", "mean", "low", "high"]
    rows = []
    if not frame.empty:
        for version, group in frame.groupby("model_version"):
            interval = mean_ci(group["weighted"].to_numpy(), group["n"].to_numpy())
            if interval.n:
                rows.append([version, *_interval_row(interval)])
    return pd.DataFrame(rows, columns=columns)


def _period_start(days: pd.Series, period: str) -> pd.Series:
    if period == "week":
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.normalize()
    return days.dt.normalize()


def trend(frame: pd.DataFrame, column: str, period: str = "day") -> pd.DataFrame:
    """Per period (day, or week starting Monday) and model version: n and the mean of
    ``column`` (a criterion key, or ``weighted``). For pass/fail the mean is the pass rate."""
    columns = ["period", "model_version", "n", "mean"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    data = frame[frame[column].notna()].copy()
    if data.empty:
        return pd.DataFrame(columns=columns)
    data["period"] = _period_start(data["day"], period)
    data["weighted_sum"] = data[column].astype(float) * data["n"]
    grouped = data.groupby(["period", "model_version"], as_index=False)[["n", "weighted_sum"]].sum()
    grouped["mean"] = grouped["weighted_sum"] / grouped["n"]
    grouped["period"] = grouped["period"].dt.date
    return grouped[columns].sort_values(["period", "model_version"]).reset_index(drop=True)


def feedback_vs_grades(frame: pd.DataFrame, pass_key: str | None = None) -> pd.DataFrame:
    """End users' thumbs down beside reviewers' grades, on the judgments of items from logs.

    Per model version: judgments on logged items, how many of those logs got a thumbs
    down and the rate, and the mean weighted score on thumbs-down logs and on the others
    (plus the pass rate of ``pass_key`` on each, when given). Rates count judgments.
    """
    columns = [
        "model_version",
        "judgments",
        "thumbs_down",
        "thumbs_down_rate",
        "score_thumbs_down",
        "score_other",
        "pass_thumbs_down",
        "pass_other",
    ]
    rows = []
    logged = frame[frame["negative"].notna()] if not frame.empty else frame
    for version, group in logged.groupby("model_version") if not logged.empty else []:
        total = int(group["n"].sum())
        down = group[group["negative"] == 1.0]
        other = group[group["negative"] == 0.0]
        rows.append(
            [
                version,
                total,
                int(down["n"].sum()),
                down["n"].sum() / total if total else None,
                _weighted_mean(down, "weighted"),
                _weighted_mean(other, "weighted"),
                _weighted_mean(down, pass_key) if pass_key else None,
                _weighted_mean(other, pass_key) if pass_key else None,
            ]
        )
    return pd.DataFrame(rows, columns=columns)


def _weighted_mean(group: pd.DataFrame, column: str) -> float | None:
    data = group[group[column].notna()]
    n = data["n"].sum()
    return float((data[column] * data["n"]).sum() / n) if n else None


# --- Reviewer activity ----------------------------------------------------------------


def reviewer_activity(queue: Queue, filters: Filters) -> pd.DataFrame:
    """Judgments per day per reviewer with their total and mean time spent (seconds)."""
    rows = (
        judgments_for(queue, filters)
        .annotate(day=TruncDate("created_at"))
        .values("day", "reviewer_id", "reviewer__username")
        .annotate(n=Count("id"), ms=Sum("time_spent_ms"))
        .order_by("day", "reviewer__username")
    )
    frame = pd.DataFrame.from_records(
        list(rows.values_list("day", "reviewer_id", "reviewer__username", "n", "ms")),
        columns=["day", "reviewer_id", "reviewer", "n", "ms"],
    )
    frame["seconds_per_item"] = (frame["ms"] / frame["n"] / 1000.0).astype(float)
    return frame


def cohort_activity(queue: Queue, filters: Filters) -> pd.DataFrame:
    """Judgments per day per cohort (a reviewer in two cohorts counts in both)."""
    rows = (
        judgments_for(queue, filters)
        .filter(reviewer__cohorts__workspace_id=queue.workspace_id)
        .annotate(day=TruncDate("created_at"), cohort=F("reviewer__cohorts__name"))
        .values("day", "cohort")
        .annotate(n=Count("id"), ms=Sum("time_spent_ms"))
        .order_by("day", "cohort")
    )
    return pd.DataFrame.from_records(
        list(rows.values_list("day", "cohort", "n", "ms")), columns=["day", "cohort", "n", "ms"]
    )


def time_per_item(activity: pd.DataFrame) -> pd.DataFrame:
    """Per reviewer: judgments and mean seconds per item, from ``reviewer_activity``."""
    columns = ["reviewer", "n", "seconds_per_item"]
    if activity.empty:
        return pd.DataFrame(columns=columns)
    grouped = activity.groupby("reviewer", as_index=False)[["n", "ms"]].sum()
    grouped["seconds_per_item"] = grouped["ms"] / grouped["n"] / 1000.0
    return grouped[columns]


# --- Filter choices and the items behind a bar ---------------------------------------


@dataclass
class Choices:
    model_versions: list[str] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    locales: list[str] = field(default_factory=list)


def filter_choices(queue: Queue) -> Choices:
    """What the filter selects offer: the queue's model versions, topics, locales, cohorts."""
    items = Item.objects.filter(queue=queue).order_by()
    versions = sorted(
        v or NO_VERSION for v in items.values_list("model_version", flat=True).distinct()
    )
    metadata = {}
    for key in METADATA_KEYS:
        values = (
            items.annotate(v=KeyTextTransform(key, "metadata"))
            .exclude(v__isnull=True)
            .values_list("v", flat=True)
            .distinct()
        )
        metadata[key] = sorted(str(v) for v in values if v != "")
    cohorts = list(Cohort.objects.filter(workspace_id=queue.workspace_id).order_by("name"))
    return Choices(versions, cohorts, metadata["topic"], metadata["locale"])


def answer_lookup(criterion: Criterion, value: str) -> Any:
    """A value from a link (text) as the JSON value stored in ``Judgment.answers``."""
    if criterion.kind == "pass_fail":
        return str(value).lower() in scoring.TRUE_TEXT
    if criterion.kind in scoring.MEAN_KINDS:
        number = float(value)
        return int(number) if number == int(number) else number
    return str(value)


def items_behind(
    queue: Queue, filters: Filters, criterion: Criterion | None = None, value: str | None = None
) -> QuerySet[Item]:
    """Items of the queue with a judgment matching the filters (and answer, when given)."""
    judgments = judgments_for(queue, filters)
    if criterion is not None and value not in (None, ""):
        judgments = judgments.filter(
            **{f"answers__{criterion.key}": answer_lookup(criterion, value)}
        )
    return Item.objects.filter(queue=queue, pk__in=judgments.values("item_id")).order_by(
        "-created_at", "-id"
    )


# --- Workspace overview ---------------------------------------------------------------


def queue_overview(workspace_id: int) -> list[Queue]:
    """Every queue of a workspace with its progress and freshness, in one query.

    Adds ``judgment_total``, ``last_judgment_at`` and ``last_item_at`` to each queue.
    """
    last_judgment = (
        Judgment.objects.filter(queue=OuterRef("pk"))
        .order_by()
        .values("queue")
        .annotate(last=Max("created_at"))
        .values("last")
    )
    judgment_total = (
        Judgment.objects.filter(queue=OuterRef("pk"))
        .order_by()
        .values("queue")
        .annotate(c=Count("id"))
        .values("c")
    )
    last_item = (
        Item.objects.filter(queue=OuterRef("pk"))
        .order_by()
        .values("queue")
        .annotate(last=Max("created_at"))
        .values("last")
    )
    return list(
        Queue.objects.filter(workspace_id=workspace_id)
        .select_related("rubric_version__rubric")
        .annotate(
            last_judgment_at=Subquery(last_judgment),
            judgment_total=Subquery(judgment_total),
            last_item_at=Subquery(last_item),
        )
        .order_by("name")
    )


def latest_agreement(queues: Sequence[Queue]) -> dict[int, Any]:
    """Latest agreement per queue id, for the overview.

    LEAD: fill in once an agreement snapshot model is merged (issue "agreement"). Until
    then there is nothing to show, and the overview says so instead of a number.
    """
    return {}


def open_adjudications(queues: Sequence[Queue]) -> dict[int, int]:
    """Open adjudications per queue id, for the overview.

    LEAD: fill in once the adjudication model is merged. Empty until then.
    """
    return {}
