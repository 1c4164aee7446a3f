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
from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Greatest, Least, NullIf, TruncDate
from django.utils import timezone

from annotate.models import Cohort, Criterion, Item, Judgment, Queue

from . import scoring
from .stats import mean_ci, mean_ci_moments, wilson_ci

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


# --- SQL expressions: answers as numbers, without leaving the database ----------------


def value_expression(criterion: Criterion) -> Any:
    """The answer as SQL computes it: likert level (float), pass 1.0 / fail 0.0, the category
    (text), or the number; NULL when unanswered or not one of the criterion's answers."""
    key = criterion.key
    if criterion.kind == "likert":
        return Case(
            *[
                When(**{f"answers__{key}": int(value)}, then=Value(float(value)))
                for value, _ in scoring.levels(criterion)
            ],
            default=None,
            output_field=FloatField(),
        )
    if criterion.kind == "pass_fail":
        return Case(
            When(**{f"answers__{key}": True}, then=Value(1.0)),
            When(**{f"answers__{key}": False}, then=Value(0.0)),
            default=None,
            output_field=FloatField(),
        )
    if criterion.kind == "categorical":
        return KeyTextTransform(key, "answers")
    return Cast(KeyTextTransform(key, "answers"), FloatField())


def score_expression(criterion: Criterion) -> Any | None:
    """The answer's 0..1 score in SQL (rules in ``evals/scoring.py``); None if not scored."""
    key = criterion.key
    if criterion.kind == "numeric":
        low, high = criterion.config.get("min"), criterion.config.get("max")
        if not scoring.is_scored(criterion):
            return None
        raw = (value_expression(criterion) - Value(float(low))) / Value(float(high) - float(low))
        return Greatest(Value(0.0), Least(Value(1.0), raw))
    mapping = scoring.score_map(criterion)
    if not mapping:
        return None
    if criterion.kind == "categorical":
        whens = [When(**{f"answers__{key}": v}, then=Value(float(s))) for v, s in mapping.items()]
    elif criterion.kind == "pass_fail":
        whens = [When(**{f"answers__{key}": v == 1.0}, then=Value(s)) for v, s in mapping.items()]
    else:
        whens = [When(**{f"answers__{key}": int(v)}, then=Value(s)) for v, s in mapping.items()]
    return Case(*whens, default=None, output_field=FloatField())


def weighted_expression(criteria: Sequence[Criterion]) -> Any | None:
    """``sum(weight * score) / sum(weight)`` over the scored criteria a judgment answered."""
    parts = [(c, score_expression(c)) for c in criteria if c.kind in scoring.SCORED_KINDS]
    parts = [(c, e) for c, e in parts if e is not None]
    if not parts:
        return None
    total = sum(
        (Coalesce(e, Value(0.0)) * Value(float(c.weight)) for c, e in parts[1:]),
        Coalesce(parts[0][1], Value(0.0)) * Value(float(parts[0][0].weight)),
    )
    # e * 0 + 1 is 1 when the criterion was answered and NULL when not.
    answered = sum(
        (
            Coalesce(e * Value(0.0) + Value(1.0), Value(0.0)) * Value(float(c.weight))
            for c, e in parts[1:]
        ),
        Coalesce(parts[0][1] * Value(0.0) + Value(1.0), Value(0.0))
        * Value(float(parts[0][0].weight)),
    )
    return ExpressionWrapper(total / NullIf(answered, Value(0.0)), output_field=FloatField())


# --- The two grouped queries ----------------------------------------------------------


def _moments(prefix: str, expression: Any) -> dict[str, Any]:
    return {
        f"{prefix}_n": Count(expression),
        f"{prefix}_s": Sum(expression),
        f"{prefix}_q": Sum(expression * expression),
    }


def load_frame(queue: Queue, filters: Filters, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Judgments grouped in SQL by model version, end-user feedback and every discrete answer.

    Columns: ``model_version``; ``negative`` (1.0 thumbs down, 0.0 not, NaN when the item
    has no source log); one column per likert/pass-fail/categorical criterion key (level as
    float, 1.0/0.0, category text); ``n`` (judgments in the row); and count/sum/sum of squares
    of the weighted score (``weighted:n``, ``weighted:sum``, ``weighted:sq``) and of each
    numeric criterion (``<key>:n`` ...), which are not grouped on since they are continuous.
    The row count depends on the answers' combinations, never on the number of judgments.
    """
    discrete = [c for c in criteria if c.kind in scoring.DISCRETE_KINDS]
    numeric = [c for c in criteria if c.kind == "numeric"]
    groups = {f"g{i}": value_expression(c) for i, c in enumerate(discrete)}
    aggregates: dict[str, Any] = {"n": Count("id")}
    weighted_sql = weighted_expression(criteria)
    if weighted_sql is not None:
        aggregates.update(_moments("w", weighted_sql))
    for index, criterion in enumerate(numeric):
        aggregates.update(_moments(f"x{index}", value_expression(criterion)))
    rows = (
        judgments_for(queue, filters)
        .annotate(
            mv=F("item__model_version"), neg=F("item__source_log__feedback_negative"), **groups
        )
        .values("mv", "neg", *groups)
        .annotate(**aggregates)
        .order_by()
    )
    names = ["mv", "neg", *groups, *aggregates]
    frame = pd.DataFrame.from_records(list(rows.values_list(*names)), columns=names)
    renames = {"mv": "model_version", "neg": "negative"}
    renames.update({alias: c.key for alias, c in zip(groups, discrete, strict=True)})
    for prefix, key in [("w", "weighted")] + [(f"x{i}", c.key) for i, c in enumerate(numeric)]:
        renames.update(
            {f"{prefix}_n": f"{key}:n", f"{prefix}_s": f"{key}:sum", f"{prefix}_q": f"{key}:sq"}
        )
    frame = frame.rename(columns=renames)
    frame["model_version"] = frame["model_version"].replace("", NO_VERSION).astype(object)
    frame["negative"] = frame["negative"].map(_as_flag).astype(float)
    for criterion in discrete:
        frame[criterion.key] = scoring.parse(criterion, frame[criterion.key])
    for column in frame.columns:
        if column.endswith((":n", ":sum", ":sq")) or column == "n":
            frame[column] = pd.to_numeric(frame[column]).fillna(0).astype(float)
    frame["n"] = frame["n"].astype(int)
    return frame


def _as_flag(value: Any) -> float:
    return np.nan if value is None else float(bool(value))


def trend_column(criterion: Criterion) -> str:
    """The trend frame column of a criterion: its mean (likert, numeric), pass rate, or the
    0..1 score of a categorical criterion."""
    return criterion.key


def load_trend_frame(queue: Queue, filters: Filters, criteria: Sequence[Criterion]) -> pd.DataFrame:
    """Per model version and day: ``n``, and for the weighted score and each scored criterion
    ``<column>:n`` (judgments that answered) and ``<column>:sum``. One grouped query."""
    aggregates: dict[str, Any] = {"n": Count("id")}
    columns: list[str] = []
    weighted_sql = weighted_expression(criteria)
    if weighted_sql is not None:
        columns.append("weighted")
        aggregates.update({"t0_n": Count(weighted_sql), "t0_s": Sum(weighted_sql)})
    for criterion in criteria:
        if criterion.kind == "categorical":
            expression = score_expression(criterion)
        elif criterion.kind in scoring.SCORED_KINDS:
            expression = value_expression(criterion)
        else:
            continue
        if expression is None:
            continue
        alias = f"t{len(columns)}"
        columns.append(trend_column(criterion))
        aggregates.update({f"{alias}_n": Count(expression), f"{alias}_s": Sum(expression)})
    rows = (
        judgments_for(queue, filters)
        .annotate(mv=F("item__model_version"), day=TruncDate("created_at"))
        .values("mv", "day")
        .annotate(**aggregates)
        .order_by()
    )
    names = ["mv", "day", *aggregates]
    frame = pd.DataFrame.from_records(list(rows.values_list(*names)), columns=names)
    renames = {"mv": "model_version"}
    for index, column in enumerate(columns):
        renames.update({f"t{index}_n": f"{column}:n", f"t{index}_s": f"{column}:sum"})
    frame = frame.rename(columns=renames)
    frame["model_version"] = frame["model_version"].replace("", NO_VERSION).astype(object)
    frame["day"] = pd.to_datetime(frame["day"])
    for column in frame.columns:
        if column.endswith((":n", ":sum")):
            frame[column] = pd.to_numeric(frame[column]).fillna(0).astype(float)
    return frame


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


def trend(frame: pd.DataFrame, column: str, period: str = "day") -> pd.DataFrame:
    """Per period (day, or week starting Monday) and model version: n (judgments that
    answered) and the mean of ``column`` from ``load_trend_frame`` (a criterion key, or
    ``weighted``). For pass/fail the mean is the pass rate; for categories, the 0..1 score."""
    columns = ["period", "model_version", "n", "mean"]
    if frame.empty or f"{column}:n" not in frame:
        return pd.DataFrame(columns=columns)
    data = pd.DataFrame(
        {
            "period": _period_start(frame["day"], period),
            "model_version": frame["model_version"],
            "n": frame[f"{column}:n"],
            "sum": frame[f"{column}:sum"],
        }
    )
    grouped = data.groupby(["period", "model_version"], as_index=False)[["n", "sum"]].sum()
    grouped = grouped[grouped["n"] > 0]
    grouped["mean"] = grouped["sum"] / grouped["n"]
    grouped["n"] = grouped["n"].astype(int)
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
