"""Panels of the results pages: each a Chart.js config, a table of the same numbers, a CSV.

A panel is built from one of the data frames that ``evals.results.rubric`` computes. The chart,
the table and the CSV come from the same rows, so the three always agree. Points of a chart
can link to the items behind them (``config["quorum"]["links"]``, read by
``static/js/charts.js``), and the table links the same counts.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

import pandas as pd
from django.utils.safestring import SafeString, mark_safe

from annotate.models import Criterion
from evals.results import rubric as results
from evals.stats import scoring

PALETTE = ["#2456c7", "#d9730d", "#1e7b3c", "#b3261e", "#7b3fb8", "#00838f", "#8a5a00", "#5b6475"]
LinkFn = Callable[[dict[str, Any]], str]


@dataclass
class Panel:
    id: str
    title: str
    chart: dict
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""
    links: list[str | None] = field(default_factory=list)  # per table row, the items behind it

    @property
    def config_id(self) -> str:
        return f"chart-{self.id}"

    @property
    def config_json(self) -> str:
        """The Chart.js config as JSON, for a ``data-chart-config`` attribute (auto-escaped)."""
        return json.dumps(self.chart, separators=(",", ":"), default=str)

    @property
    def table_rows(self) -> list[tuple[list[Any], str | None]]:
        links = self.links or [None] * len(self.rows)
        shown = [[cell(v) for v in row] for row in self.rows]
        return list(zip(shown, links, strict=True))

    @property
    def table_html(self) -> SafeString:
        """The table of the panel's numbers, every value escaped (built here with
        ``html.escape``: the template engine and format_html are slow for long tables)."""
        head = "".join(f'<th scope="col">{escape(str(c))}</th>' for c in self.columns)
        if self.links:
            head += '<th scope="col">items</th>'
        body = []
        for row, link in self.table_rows:
            cells = "".join(f"<td>{escape(str(v))}</td>" for v in row)
            if link:
                cells += f'<td><a href="{escape(link)}">items</a></td>'
            body.append(f"<tr>{cells}</tr>")
        if not body:
            body.append(f'<tr><td colspan="{len(self.columns)}">No data.</td></tr>')
        rows = "".join(body)
        return mark_safe(  # noqa: S308 - every value above went through html.escape
            f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        )

    @property
    def empty(self) -> bool:
        return not self.rows


@dataclass
class Section:
    title: str
    panels: list[Panel]


def cell(value: Any) -> Any:
    """A value as shown in tables and CSV: rounded floats, ISO dates, blanks for missing."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 3)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return cell(value.item())
    return value


def to_csv(panel: Panel) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(panel.columns)
    for row in panel.rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _num(value: Any, scale: float = 1.0) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number * scale, 4)


def _options(y_title: str, *, y_max: float | None = None, stacked: bool = False) -> dict:
    y: dict[str, Any] = {"title": {"display": True, "text": y_title}, "beginAtZero": True}
    if y_max is not None:
        y["max"] = y_max
    if stacked:
        y["stacked"] = True
    return {"scales": {"x": {"stacked": stacked}, "y": y}}


def interval_chart(labels: list[str], rows: list[tuple], y_title: str, scale: float = 1.0) -> dict:
    """A floating bar per label from low to high, with the estimate as a point on it.

    ``rows`` are ``(estimate, low, high, n)`` in label order.
    """
    bars = [
        [_num(low, scale), _num(high, scale)] if low is not None and not _nan(low) else None
        for _, low, high, _n in rows
    ]
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "type": "line",
                    "label": "Estimate",
                    "data": [_num(est, scale) for est, *_ in rows],
                    "showLine": False,
                    "pointRadius": 6,
                    "pointStyle": "rectRot",
                    "borderColor": "#1d2330",
                    "backgroundColor": "#1d2330",
                },
                {
                    "label": "95% interval",
                    "data": bars,
                    "backgroundColor": [_color(i) + "66" for i in range(len(labels))],
                    "borderColor": [_color(i) for i in range(len(labels))],
                    "borderWidth": 1,
                },
            ],
        },
        "options": _options(y_title),
        "quorum": {"counts": [[n for *_, n in rows], [n for *_, n in rows]]},
    }


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- Score panels ---------------------------------------------------------------------


def weighted_panel(frame: pd.DataFrame) -> Panel:
    table = results.weighted(frame)
    rows = [[r.model_version, r.n, r.mean, r.low, r.high] for r in table.itertuples()]
    chart = interval_chart(
        [r[0] for r in rows], [(r[2], r[3], r[4], r[1]) for r in rows], "Weighted score (%)", 100
    )
    chart["options"]["scales"]["y"]["max"] = 100
    return Panel(
        "weighted",
        "Weighted rubric score per model version",
        chart,
        ["model_version", "n", "mean", "ci_low", "ci_high"],
        rows,
        note="0 = worst, 1 = best on every scored criterion, weighted by the criteria weights; "
        "95% t-interval.",
    )


def means_panel(frame: pd.DataFrame, criterion: Criterion) -> Panel:
    table = results.means(frame, [criterion])
    rows = [[r.model_version, r.n, r.mean, r.low, r.high] for r in table.itertuples()]
    chart = interval_chart(
        [r[0] for r in rows], [(r[2], r[3], r[4], r[1]) for r in rows], criterion.name
    )
    values = [value for value, _ in scoring.levels(criterion)] or [criterion.config.get("max") or 0]
    chart["options"]["scales"]["y"]["max"] = max(float(v) for v in values) if values else None
    return Panel(
        f"mean-{criterion.key}",
        f"Mean {criterion.name} per model version",
        chart,
        ["model_version", "n", "mean", "ci_low", "ci_high"],
        rows,
        note="95% t-interval.",
    )


def pass_rate_panel(frame: pd.DataFrame, criteria: Sequence[Criterion]) -> Panel:
    table = results.pass_rates(frame, criteria)
    names = {c.key: c.name for c in criteria}
    rows = [
        [names[r.criterion], r.model_version, r.n, r.passes, r.rate, r.low, r.high]
        for r in table.itertuples()
    ]
    chart = interval_chart(
        [f"{r[0]} · {r[1]}" for r in rows],
        [(r[4], r[5], r[6], r[2]) for r in rows],
        "Pass rate (%)",
        100,
    )
    chart["options"]["scales"]["y"]["max"] = 100
    return Panel(
        "pass-rates",
        "Pass rate per pass/fail criterion",
        chart,
        ["criterion", "model_version", "n", "passes", "rate", "ci_low", "ci_high"],
        rows,
        note="Wilson 95% interval.",
    )


def distribution_panel(frame: pd.DataFrame, criterion: Criterion, link: LinkFn) -> Panel:
    table = results.distribution(frame, criterion)
    labels = [label for _, label in scoring.levels(criterion)]
    versions = list(dict.fromkeys(table["model_version"].tolist()))
    datasets, links = [], []
    for index, version in enumerate(versions):
        part = table[table.model_version == version]
        datasets.append(
            {
                "label": version,
                "data": [_num(s, 100) for s in part["share"]],
                "backgroundColor": _color(index),
            }
        )
        links.append([_bar_link(link, criterion, version, v) for v in part["value"]])
    rows = [[r.model_version, r.label, r.count, r.share] for r in table.itertuples()]
    row_links = [_bar_link(link, criterion, r.model_version, r.value) for r in table.itertuples()]
    chart = {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": _options("Share of judgments (%)", y_max=100),
        "quorum": {
            "links": links,
            "counts": [table[table.model_version == v]["count"].tolist() for v in versions],
        },
    }
    return Panel(
        f"dist-{criterion.key}",
        f"{criterion.name}: distribution",
        chart,
        ["model_version", "answer", "count", "share"],
        rows,
        note="Click a bar to see the items behind it.",
        links=row_links,
    )


def _bar_link(link: LinkFn, criterion: Criterion, version: str, value: Any) -> str:
    text = ("1" if value else "0") if criterion.kind == "pass_fail" else value
    if isinstance(text, float) and text == int(text):
        text = int(text)
    return link({"model_version": version, "criterion": criterion.key, "value": text})


# --- Trends ---------------------------------------------------------------------------


def trend_panel(
    frame: pd.DataFrame,
    column: str,
    title: str,
    y_title: str,
    period: str,
    scale: float = 1.0,
    sums: pd.DataFrame | None = None,
) -> Panel:
    table = results.trend(frame, column, period, sums)
    periods = sorted(table["period"].unique().tolist()) if not table.empty else []
    versions = sorted(table["model_version"].unique().tolist()) if not table.empty else []
    datasets, counts = [], []
    if versions:
        mean = table.pivot(index="period", columns="model_version", values="mean").reindex(periods)
        n = table.pivot(index="period", columns="model_version", values="n").reindex(periods)
    for index, version in enumerate(versions):
        datasets.append(
            {
                "label": version,
                "data": [_num(v, scale) for v in mean[version].tolist()],
                "borderColor": _color(index),
                "backgroundColor": _color(index),
                "spanGaps": True,
            }
        )
        counts.append([0 if _nan(v) else int(v) for v in n[version].tolist()])
    rows = [[r.period, r.model_version, r.n, r.mean] for r in table.itertuples()]
    chart = {
        "type": "line",
        "data": {"labels": [p.isoformat() for p in periods], "datasets": datasets},
        "options": _options(y_title),
        "quorum": {"counts": counts},
    }
    return Panel(
        f"trend-{column.replace(':', '-')}",
        title,
        chart,
        [period, "model_version", "n", "mean"],
        rows,
        note=f"Per {period}; n is the number of judgments behind each point (hover or table).",
    )


def trend_panels(frame: pd.DataFrame, criteria: Sequence[Criterion], period: str) -> list[Panel]:
    sums = results.period_sums(frame, period)
    panels = [
        trend_panel(
            frame, "weighted", "Weighted score over time", "Weighted score (%)", period, 100, sums
        )
    ]
    for criterion in criteria:
        if criterion.kind == "pass_fail":
            y_title, scale = "Pass rate (%)", 100
        elif criterion.kind == "categorical":
            if not scoring.is_scored(criterion):
                continue
            y_title, scale = "Score (%)", 100
        elif criterion.kind in scoring.MEAN_KINDS:
            y_title, scale = "Mean", 1
        else:
            continue
        panels.append(
            trend_panel(
                frame,
                results.trend_column(criterion),
                f"{criterion.name} over time",
                y_title,
                period,
                scale,
                sums,
            )
        )
    return panels


# --- End-user feedback ---------------------------------------------------------------


def feedback_panel(frame: pd.DataFrame, criteria: Sequence[Criterion]) -> Panel:
    pass_key = next((c.key for c in criteria if c.kind == "pass_fail"), None)
    table = results.feedback_vs_grades(frame, pass_key)
    versions = table["model_version"].tolist()
    series = [
        ("thumbs_down_rate", "End users: thumbs-down rate"),
        ("score_thumbs_down", "Reviewers: weighted score on thumbs-down logs"),
        ("score_other", "Reviewers: weighted score on other logs"),
    ]
    datasets = [
        {
            "label": label,
            "data": [_num(v, 100) for v in table[column]],
            "backgroundColor": _color(index),
        }
        for index, (column, label) in enumerate(series)
    ]
    rows = [[cell(v) for v in row] for row in table.itertuples(index=False)]
    return Panel(
        "feedback",
        "End-user feedback beside reviewers' grades",
        {
            "type": "bar",
            "data": {"labels": versions, "datasets": datasets},
            "options": _options("%", y_max=100),
        },
        list(table.columns),
        rows,
        note="Judgments of items that came from production logs; rates count judgments."
        + (f" Pass columns: {pass_key}." if pass_key else ""),
    )


# --- Reviewers ------------------------------------------------------------------------


def _stacked_by_day(frame: pd.DataFrame, key: str) -> dict:
    days = sorted(frame["day"].unique().tolist()) if not frame.empty else []
    names = sorted(frame[key].unique().tolist()) if not frame.empty else []
    counts = frame.groupby(["day", key])["n"].sum() if not frame.empty else {}
    datasets = [
        {
            "label": name,
            "data": [int(counts.get((d, name), 0)) for d in days],
            "backgroundColor": _color(index),
        }
        for index, name in enumerate(names)
    ]
    return {
        "type": "bar",
        "data": {"labels": [d.isoformat() for d in days], "datasets": datasets},
        "options": _options("Judgments", stacked=True),
    }


def activity_panels(activity: pd.DataFrame, cohorts: pd.DataFrame) -> list[Panel]:
    per_reviewer = results.time_per_item(activity)
    return [
        Panel(
            "activity-reviewers",
            "Judgments per day per reviewer",
            _stacked_by_day(activity, "reviewer"),
            ["day", "reviewer", "judgments", "seconds_per_item"],
            [[r.day, r.reviewer, r.n, r.seconds_per_item] for r in activity.itertuples()],
        ),
        Panel(
            "activity-cohorts",
            "Judgments per day per cohort",
            _stacked_by_day(cohorts, "cohort"),
            ["day", "cohort", "judgments"],
            [[r.day, r.cohort, r.n] for r in cohorts.itertuples()],
            note="A reviewer in two cohorts counts in both.",
        ),
        Panel(
            "time-per-item",
            "Time per item per reviewer",
            {
                "type": "bar",
                "data": {
                    "labels": per_reviewer["reviewer"].tolist(),
                    "datasets": [
                        {
                            "label": "Mean seconds per item",
                            "data": [_num(v) for v in per_reviewer["seconds_per_item"]],
                            "backgroundColor": _color(0),
                        }
                    ],
                },
                "options": _options("Seconds"),
                "quorum": {"counts": [per_reviewer["n"].tolist()]},
            },
            ["reviewer", "judgments", "seconds_per_item"],
            [[r.reviewer, r.n, r.seconds_per_item] for r in per_reviewer.itertuples()],
        ),
    ]


# --- The whole page -------------------------------------------------------------------


def build_sections(
    frame: pd.DataFrame,
    trend_frame: pd.DataFrame,
    criteria: Sequence[Criterion],
    activity: pd.DataFrame,
    cohorts: pd.DataFrame,
    period: str,
    link: LinkFn,
) -> list[Section]:
    scores = [weighted_panel(frame)]
    if any(c.kind == "pass_fail" for c in criteria):
        scores.append(pass_rate_panel(frame, criteria))
    scores += [means_panel(frame, c) for c in criteria if c.kind in scoring.MEAN_KINDS]
    distributions = [
        distribution_panel(frame, c, link) for c in criteria if c.kind in scoring.DISCRETE_KINDS
    ]
    return [
        Section("Scores", scores),
        Section("Distributions", distributions),
        Section("Trends", trend_panels(trend_frame, criteria, period)),
        Section("End-user feedback", [feedback_panel(frame, criteria)]),
        Section("Reviewers", activity_panels(activity, cohorts)),
    ]


def find_panel(sections: Sequence[Section], panel_id: str) -> Panel | None:
    return next((p for s in sections for p in s.panels if p.id == panel_id), None)
