"""Results of a rubric queue: filters, the few queries behind them, and the numbers per panel.

The page's numbers come from a handful of queries whose count never depends on the number
of judgments: the judgments are grouped in SQL by (model version, day, end-user feedback and
every scored answer) with a count, so 100,000 judgments on a 5-criterion rubric arrive as a
few hundred rows. pandas then computes every panel from that frame, using the counts as
frequency weights (exactly what a row-by-row computation gives). Reviewer activity has its
own two grouped queries. Normalization and weighting rules: ``evals.stats.scoring``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate
from django.utils import timezone

from annotate.adjudication import disputes
from annotate.models import Cohort, Criterion, Item, Judgment, Queue
from evals.models import AgreementSnapshot
from evals.results import rubric_sql as results_sql
from evals.results.agreement import headline
from evals.stats import scoring
from evals.stats.intervals import mean_ci, mean_ci_moments, wilson_ci

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


# --- The two grouped queries (SQL in ``evals.results.rubric_sql``) -------------------------


def _moments(column: str) -> dict[str, str]:
    return {"_n": f"COUNT({column})", "_s": f"SUM({column})", "_q": f"SUM({column} * {column})"}


def load_day_frame(queue: Queue, filters: Filters, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Judgments grouped in SQL by model version, end-user feedback, day and every discrete
    answer: the one query behind the score, distribution, trend and feedback panels.

    Columns: ``model_version``; ``negative`` (1.0 thumbs down, 0.0 not, NaN when the item
    has no source log); ``day``; one column per likert/pass-fail/categorical criterion key
    (level as float, 1.0/0.0, category text); ``n`` (judgments in the row); and count/sum/sum
    of squares of the weighted score (``weighted:n``, ``weighted:sum``, ``weighted:sq``) and
    of each numeric criterion (``<key>:n`` ...), which are summed, not grouped on. The row
    count depends on days and answer combinations, never on the number of judgments.
    """
    columns = results_sql.columns_for(criteria)
    discrete = [c for c in columns if c.criterion.kind in scoring.DISCRETE_KINDS]
    numeric = [c for c in columns if c.criterion.kind == "numeric"]
    aggregates = {"n": "COUNT(*)"}
    names = {"n": "n"}
    for source, key in [("w", "weighted")] + [(c.value, c.criterion.key) for c in numeric]:
        for suffix, expr in _moments(source).items():
            alias = f"{source}{suffix}"
            aggregates[alias] = expr
            names[alias] = f"{key}:" + {"_n": "n", "_s": "sum", "_q": "sq"}[suffix]
    group_by = ["mv", "neg", "day", *[c.value for c in discrete]]
    rows = results_sql.grouped(judgments_for(queue, filters), criteria, group_by, aggregates)
    frame = pd.DataFrame.from_records(
        rows,
        columns=[
            "model_version",
            "negative",
            "day",
            *[c.criterion.key for c in discrete],
            *names.values(),
        ],
    )
    frame["model_version"] = frame["model_version"].replace("", NO_VERSION).astype(object)
    frame["negative"] = frame["negative"].map(_as_flag).astype(float)
    frame["day"] = pd.to_datetime(frame["day"])
    for c in discrete:
        frame[c.criterion.key] = scoring.parse(c.criterion, frame[c.criterion.key])
    for column in names.values():
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype(float)
    frame["n"] = frame["n"].astype(int)
    return frame


def _sum_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c == "n" or c.endswith((":n", ":sum", ":sq"))]


def frame_from_days(days: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """The day frame summed over days: grouped by model version, feedback and answers."""
    keys = ["model_version", "negative"] + [
        c.key for c in criteria if c.kind in scoring.DISCRETE_KINDS and c.key in days
    ]
    sums = _sum_columns(days)
    if days.empty:
        return days.drop(columns=["day"])
    frame = days.groupby(keys, dropna=False, as_index=False, sort=False)[sums].sum()
    frame["n"] = frame["n"].astype(int)
    return frame


def trend_from_days(days: pd.DataFrame, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Per model version and day: ``n``, and for the weighted score and each scored criterion
    ``<column>:n`` (judgments that answered) and ``<column>:sum`` (of the value: the mean
    for likert and numeric, the pass rate for pass/fail, the 0..1 score for categories)."""
    data = days[["model_version", "day", "n", "weighted:n", "weighted:sum"]].copy()
    for criterion in criteria:
        key = trend_column(criterion)
        if criterion.kind == "numeric":
            data[f"{key}:n"], data[f"{key}:sum"] = days[f"{key}:n"], days[f"{key}:sum"]
            continue
        if criterion.kind == "categorical":
            if not scoring.is_scored(criterion):
                continue
            values = scoring.normalize(criterion, days[criterion.key])
        elif criterion.kind in scoring.DISCRETE_KINDS:
            values = days[criterion.key].astype(float)
        else:
            continue
        data[f"{key}:n"] = days["n"] * values.notna()
        data[f"{key}:sum"] = days["n"] * values.fillna(0.0)
    if data.empty:
        return data
    sums = [c for c in data.columns if c not in ("model_version", "day")]
    return data.groupby(["model_version", "day"], as_index=False)[sums].sum()


def load_frames(
    queue: Queue, filters: Filters, criteria: Sequence[Criterion]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers frame, trend frame) from one query."""
    days = load_day_frame(queue, filters, criteria)
    return frame_from_days(days, criteria), trend_from_days(days, criteria)


def _as_flag(value: Any) -> float:
    return np.nan if value is None else float(bool(value))


def trend_column(criterion: Criterion) -> str:
    """The trend frame column of a criterion (its key)."""
    return criterion.key


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
    counts = answered.groupby(["model_version", criterion.key])["n"].sum().to_dict()
    totals = answered.groupby("model_version")["n"].sum().to_dict()
    rows = []
    for version in versions:
        total = int(totals.get(version, 0))
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
            if criterion.kind == "numeric":
                interval = _moments_ci(group, criterion.key)
            else:
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


def _moments_ci(group: pd.DataFrame, key: str):
    if f"{key}:n" not in group:
        return mean_ci([])
    return mean_ci_moments(
        group[f"{key}:n"].sum(), group[f"{key}:sum"].sum(), group[f"{key}:sq"].sum()
    )


def weighted(frame: pd.DataFrame) -> pd.DataFrame:
    """Weighted rubric score (0..1) with a 95% t-interval per model version."""
    columns = ["model_version", "n", "mean", "low", "high"]
    rows = []
    if not frame.empty:
        for version, group in frame.groupby("model_version"):
            interval = _moments_ci(group, "weighted")
            if interval.n:
                rows.append([version, *_interval_row(interval)])
    return pd.DataFrame(rows, columns=columns)


def _period_start(days: pd.Series, period: str) -> pd.Series:
    if period == "week":
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.normalize()
    return days.dt.normalize()


def period_sums(frame: pd.DataFrame, period: str = "day") -> pd.DataFrame:
    """The trend frame summed per period (day, or week starting Monday) and model version;
    compute it once and pass it to ``trend`` for every column."""
    if frame.empty:
        return frame.assign(period=pd.Series(dtype="datetime64[ns]"))
    data = frame.assign(period=_period_start(frame["day"], period)).drop(columns=["day"])
    sums = [c for c in data.columns if c not in ("period", "model_version")]
    grouped = data.groupby(["period", "model_version"], as_index=False, sort=True)[sums].sum()
    grouped["period"] = grouped["period"].dt.date
    return grouped


def trend(
    frame: pd.DataFrame,
    column: str,
    period: str = "day",
    sums: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per period and model version: n (judgments that answered) and the mean of ``column``
    (a criterion key, or ``weighted``) from the trend frame of ``load_frames``. For
    pass/fail the mean is the pass rate; for categories, the 0..1 score. ``sums``:
    ``period_sums(frame, period)``."""
    columns = ["period", "model_version", "n", "mean"]
    if frame.empty or f"{column}:n" not in frame:
        return pd.DataFrame(columns=columns)
    sums = period_sums(frame, period) if sums is None else sums
    data = sums[sums[f"{column}:n"] > 0]
    return pd.DataFrame(
        {
            "period": data["period"],
            "model_version": data["model_version"],
            "n": data[f"{column}:n"].astype(int),
            "mean": data[f"{column}:sum"] / data[f"{column}:n"],
        }
    ).reset_index(drop=True)


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
                _ratio(down, "weighted"),
                _ratio(other, "weighted"),
                _weighted_mean(down, pass_key) if pass_key else None,
                _weighted_mean(other, pass_key) if pass_key else None,
            ]
        )
    return pd.DataFrame(rows, columns=columns)


def _ratio(group: pd.DataFrame, key: str) -> float | None:
    n = group[f"{key}:n"].sum() if f"{key}:n" in group else 0
    return float(group[f"{key}:sum"].sum() / n) if n else None


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


def cohort_activity(queue: Queue, activity: pd.DataFrame) -> pd.DataFrame:
    """Judgments per day per cohort, from ``reviewer_activity`` and the workspace's cohort
    members (a small query). A reviewer in two cohorts counts in both."""
    members = pd.DataFrame.from_records(
        list(
            Cohort.members.through.objects.filter(cohort__workspace_id=queue.workspace_id)
            .values_list("cohort__name", "user_id")
            .order_by()
        ),
        columns=["cohort", "reviewer_id"],
    )
    columns = ["day", "cohort", "n", "ms"]
    if activity.empty or members.empty:
        return pd.DataFrame(columns=columns)
    joined = activity.merge(members, on="reviewer_id")
    grouped = joined.groupby(["day", "cohort"], as_index=False)[["n", "ms"]].sum()
    return grouped[columns].sort_values(["day", "cohort"]).reset_index(drop=True)


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
    combos = (
        Item.objects.filter(queue=queue)
        .order_by()
        .annotate(**{key: KeyTextTransform(key, "metadata") for key in METADATA_KEYS})
        .values_list("model_version", *METADATA_KEYS)
        .distinct()
    )  # one scan of the items for all three selects
    found: list[set[str]] = [set(), *[set() for _ in METADATA_KEYS]]
    for version, *meta in combos:
        found[0].add(version or NO_VERSION)
        for index, value in enumerate(meta, start=1):
            if value not in (None, ""):
                found[index].add(str(value))
    versions = sorted(found[0])
    metadata = {key: sorted(found[i]) for i, key in enumerate(METADATA_KEYS, start=1)}
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


def latest_agreement(queues: Sequence[Queue]) -> dict[int, str]:
    """Per queue id: the lowest Krippendorff's alpha of its latest agreement snapshot.

    The weakest criterion is the headline: a queue is as trustworthy as its least
    reliable criterion. Queues without a snapshot are left out (the page shows "—").
    """
    shown: dict[int, str] = {}
    for queue in queues:
        snapshot = (
            AgreementSnapshot.objects.filter(queue=queue).order_by("-computed_at", "-id").first()
        )
        if snapshot is None:
            continue
        rows = [row for row in headline(snapshot.report) if row["alpha"] is not None]
        if rows:
            weakest = min(rows, key=lambda row: row["alpha"])
            shown[queue.pk] = f"α {weakest['alpha']:.2f} ({weakest['name']}, lowest)"
    return shown


def open_adjudications(queues: Sequence[Queue]) -> dict[int, int]:
    """Per queue id: disputed items that no adjudicator has resolved yet."""
    counts: dict[int, int] = {}
    for queue in queues:
        criteria = list(queue.rubric_version.criteria.all())
        counts[queue.pk] = sum(1 for d in disputes(queue, criteria) if not d.adjudicated)
    return counts
