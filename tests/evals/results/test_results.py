"""The results aggregation functions, against hand-computed values and scipy/statsmodels."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp_stats
from statsmodels.stats.proportion import proportion_confint

from annotate.models import Cohort
from evals.models import Log, Source
from evals.results import rubric as results
from evals.stats import scoring
from evals.stats.intervals import mean_ci, mean_ci_moments, wilson_ci
from tests.evals.results.results_data import judge, judged_items, make_item
from tests.factories import make_queue, published_rubric, standard_criteria


def _rubric(workspace):
    criteria = standard_criteria()
    criteria[0]["weight"] = 2.0  # accuracy counts double
    return published_rubric(workspace, criteria)


@pytest.fixture
def queue(workspace):
    q = make_queue(workspace, rubric_version=_rubric(workspace))
    judged_items(
        q,
        "v1",
        [
            {"accuracy": 5, "harm": "none", "safe": True},
            {"accuracy": 4, "harm": "none", "safe": True, "minutes": 6},
            {"accuracy": 3, "harm": "mild", "safe": False},
        ],
    )
    judged_items(
        q,
        "v2",
        [
            {"accuracy": 2, "harm": "severe", "safe": False},
            {"accuracy": 2, "harm": "mild", "safe": True},
        ],
        day=8,
    )
    return q


def _frame(queue, **filters):
    return results.load_frames(queue, results.Filters(**filters), results.criteria_of(queue))[0]


def test_the_grouped_frame_counts_every_judgment_once(queue):
    frame = _frame(queue)
    assert frame["n"].sum() == 5
    assert sorted(frame["model_version"].unique()) == ["v1", "v2"]


def test_the_distribution_counts_each_level_per_model_version(queue):
    criterion = queue.rubric_version.criteria.get(key="accuracy")
    table = results.distribution(_frame(queue), criterion)
    v1 = table[table.model_version == "v1"].set_index("value")["count"].to_dict()
    assert v1 == {1.0: 0, 2.0: 0, 3.0: 1, 4.0: 1, 5.0: 1}
    v2 = table[table.model_version == "v2"].set_index("value")["share"].to_dict()
    assert v2[2.0] == 1.0 and v2[5.0] == 0.0


def test_the_distribution_of_pass_fail_and_categories_uses_their_labels(queue):
    safe = queue.rubric_version.criteria.get(key="safe")
    table = results.distribution(_frame(queue), safe)
    v1 = table[table.model_version == "v1"].set_index("label")["count"].to_dict()
    assert v1 == {"Pass": 2, "Fail": 1}
    harm = queue.rubric_version.criteria.get(key="harm")
    table = results.distribution(_frame(queue), harm)
    v2 = table[table.model_version == "v2"].set_index("value")["count"].to_dict()
    assert v2 == {"none": 0, "mild": 1, "severe": 1}


def test_the_mean_per_model_version_has_a_t_interval_like_scipy(queue):
    table = results.means(_frame(queue), results.criteria_of(queue))
    row = table[(table.criterion == "accuracy") & (table.model_version == "v1")].iloc[0]
    assert row["n"] == 3 and row["mean"] == pytest.approx(4.0)
    low, high = sp_stats.t.interval(0.95, 2, loc=4.0, scale=sp_stats.sem([5, 4, 3]))
    assert (row["low"], row["high"]) == (pytest.approx(low), pytest.approx(high))
    minutes = table[(table.criterion == "minutes") & (table.model_version == "v1")].iloc[0]
    assert minutes["n"] == 1 and minutes["mean"] == 6.0 and np.isnan(float(minutes["low"]))


def test_the_pass_rate_has_a_wilson_interval_like_statsmodels(queue):
    table = results.pass_rates(_frame(queue), results.criteria_of(queue))
    row = table[table.model_version == "v1"].iloc[0]
    assert (row["n"], row["passes"]) == (3, 2)
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert row["rate"] == pytest.approx(2 / 3)
    assert (row["low"], row["high"]) == (pytest.approx(low), pytest.approx(high))


def test_the_weighted_score_uses_criteria_weights_and_skips_unanswered_ones(queue):
    table = results.weighted(_frame(queue)).set_index("model_version")
    # v1: accuracy (w=2) 5,4,3 -> 1, .75, .5; harm none,none,mild -> 1,1,.5; safe 1,1,0;
    # minutes 6 of 0..60 -> .1 on the second only.
    expected_v1 = [(2 * 1 + 1 + 1) / 4, (2 * 0.75 + 1 + 1 + 0.1) / 5, (2 * 0.5 + 0.5 + 0) / 4]
    assert table.loc["v1", "mean"] == pytest.approx(np.mean(expected_v1))
    # v2: accuracy 2 -> .25 twice; harm severe 0, mild .5; safe 0, 1.
    expected_v2 = [(0.5 + 0 + 0) / 4, (0.5 + 0.5 + 1) / 4]
    assert table.loc["v2", "mean"] == pytest.approx(np.mean(expected_v2))
    low, _ = sp_stats.t.interval(0.95, 2, loc=np.mean(expected_v1), scale=sp_stats.sem(expected_v1))
    assert table.loc["v1", "low"] == pytest.approx(low)


def test_grouped_counts_give_the_same_interval_as_single_rows():
    grouped = mean_ci([4, 5, 2], [3, 1, 2])
    single = mean_ci([4, 4, 4, 5, 2, 2])
    assert grouped == single
    values = [4, 4, 4, 5, 2, 2]
    moments = mean_ci_moments(6, sum(values), sum(v * v for v in values))
    assert moments.estimate == pytest.approx(single.estimate)
    assert (moments.low, moments.high) == (pytest.approx(single.low), pytest.approx(single.high))
    assert wilson_ci(0, 0).n == 0
    low, high = proportion_confint(0, 7, method="wilson")
    assert (wilson_ci(0, 7).low, wilson_ci(0, 7).high) == (pytest.approx(low), pytest.approx(high))


def test_categorical_options_with_an_explicit_score_use_it():
    class C:
        key, kind, weight = "tone", "categorical", 1.0
        config = {"options": [{"value": "warm", "score": 0.8}, {"value": "cold", "score": 0.2}]}

    assert scoring.score_map(C()) == {"warm": 0.8, "cold": 0.2}


def test_the_trend_groups_by_day_or_week_with_the_n_behind_each_point(queue):
    frame = results.load_frames(queue, results.Filters(), results.criteria_of(queue))[1]
    daily = results.trend(frame, "accuracy", "day")
    assert daily[["model_version", "n", "mean"]].values.tolist() == [["v1", 3, 4.0], ["v2", 2, 2.0]]
    assert daily["period"].tolist() == [date(2026, 3, 2), date(2026, 3, 10)]
    weekly = results.trend(frame, "safe", "week")
    assert weekly["period"].tolist() == [date(2026, 3, 2), date(2026, 3, 9)]
    assert weekly["mean"].tolist() == [pytest.approx(2 / 3), 0.5]
    harm = results.trend(frame, "harm", "day")  # categories trend as their 0..1 score
    assert harm["mean"].tolist() == [pytest.approx(2.5 / 3), 0.25]
    scores = results.trend(frame, "weighted", "week").set_index("model_version")["mean"]
    table = results.weighted(_frame(queue)).set_index("model_version")["mean"]
    assert scores.to_dict() == pytest.approx(table.to_dict())


def test_filters_narrow_by_model_version_time_and_metadata(workspace, queue):
    assert _frame(queue, model_version="v2")["n"].sum() == 2
    assert _frame(queue, start=date(2026, 3, 5))["n"].sum() == 2
    assert _frame(queue, end=date(2026, 3, 2))["n"].sum() == 3
    item = make_item(queue, "v1", metadata={"topic": "dosage", "locale": "fr"})
    judge(queue, item, {"accuracy": 1, "harm": "none", "safe": True})
    assert _frame(queue, topic="dosage")["n"].sum() == 1
    assert _frame(queue, locale="fr", model_version="v2").empty
    choices = results.filter_choices(queue)
    assert choices.topics == ["dosage"] and choices.locales == ["fr"]
    assert choices.model_versions == ["v1", "v2"]


def test_the_cohort_filter_keeps_only_its_members_judgments(workspace, queue, reviewer):
    item = make_item(queue, "v1")
    judge(queue, item, {"accuracy": 1, "harm": "none", "safe": True}, reviewer=reviewer)
    cohort = Cohort.objects.get(name="Clinicians")
    frame = _frame(queue, cohort=cohort.pk)
    assert frame["n"].sum() == 1 and frame["accuracy"].tolist() == [1.0]


def test_a_cohort_of_another_workspace_matches_nothing(queue, outsider):
    other = Cohort.objects.create(workspace=outsider.memberships.get().workspace, name="X")
    other.members.add(*[j.reviewer for j in queue.judgments.all()])
    assert _frame(queue, cohort=other.pk).empty


def test_thumbs_down_rate_sits_beside_human_grades_on_the_same_logs(workspace, queue):
    source = Source.objects.create(workspace=workspace, name="app")
    for n, (negative, answers) in enumerate(
        [
            (True, {"accuracy": 1, "harm": "severe", "safe": False}),
            (False, {"accuracy": 5, "harm": "none", "safe": True}),
            (False, {"accuracy": 5, "harm": "none", "safe": False}),
        ]
    ):
        log = Log.objects.create(
            workspace=workspace,
            source=source,
            external_id=str(n),
            timestamp=workspace.created_at,
            output="x",
            model_version="v3",
            feedback_negative=negative,
        )
        judge(queue, make_item(queue, "v3", source_log=log), answers)
    table = results.feedback_vs_grades(_frame(queue), "safe").set_index("model_version")
    assert list(table.index) == ["v3"]  # judgments without a log are left out
    row = table.loc["v3"]
    assert (row["judgments"], row["thumbs_down"]) == (3, 1)
    assert row["thumbs_down_rate"] == pytest.approx(1 / 3)
    assert row["score_thumbs_down"] == pytest.approx(0.0)
    assert row["score_other"] == pytest.approx((1.0 + (2 + 1 + 0) / 4) / 2)
    assert (row["pass_thumbs_down"], row["pass_other"]) == (0.0, 0.5)


def test_reviewer_activity_counts_judgments_per_day_and_time_per_item(workspace, queue, reviewer):
    for day, ms in [(0, 10_000), (0, 20_000), (1, 60_000)]:
        judge(queue, make_item(queue), {"accuracy": 3}, reviewer=reviewer, day=day, ms=ms)
    activity = results.reviewer_activity(queue, results.Filters())
    mine = activity[activity.reviewer == reviewer.username]
    assert mine["n"].tolist() == [2, 1]
    assert mine["seconds_per_item"].tolist() == [15.0, 60.0]
    per_reviewer = results.time_per_item(activity).set_index("reviewer")
    assert per_reviewer.loc[reviewer.username, "seconds_per_item"] == pytest.approx(30.0)
    cohorts = results.cohort_activity(queue, activity)
    assert cohorts[["cohort", "n"]].values.tolist() == [["Clinicians", 2], ["Clinicians", 1]]


def test_items_behind_a_bar_match_the_answer_and_filters(queue):
    accuracy = queue.rubric_version.criteria.get(key="accuracy")
    safe = queue.rubric_version.criteria.get(key="safe")
    items = results.items_behind(queue, results.Filters(model_version="v2"), accuracy, "2")
    assert items.count() == 2
    items = results.items_behind(queue, results.Filters(), safe, "1")
    assert items.count() == 3
    items = results.items_behind(queue, results.Filters(model_version="v1"), safe, "0")
    assert items.count() == 1


def test_an_empty_queue_gives_empty_panels(workspace):
    q = make_queue(workspace, name="Empty")
    frame = _frame(q)
    criteria = results.criteria_of(q)
    assert frame.empty
    assert results.means(frame, criteria).empty and results.weighted(frame).empty
    assert results.trend(frame, "weighted").empty
    assert results.trend(results.load_frames(q, results.Filters(), criteria)[1], "safe").empty
    assert results.distribution(frame, criteria[0]).empty
    assert results.feedback_vs_grades(frame).empty


def test_sql_scoring_and_the_pandas_scoring_used_by_alerts_agree(queue):
    criteria = results.criteria_of(queue)
    answers = pd.DataFrame.from_records(
        list(queue.judgments.order_by("id").values_list("answers", flat=True))
    )
    versions = list(queue.judgments.order_by("id").values_list("item__model_version", flat=True))
    parsed = {
        c.key: scoring.parse(c, answers.get(c.key, pd.Series(index=answers.index)))
        for c in criteria
        if c.kind in scoring.SCORED_KINDS
    }
    scored = [c for c in criteria if c.kind in scoring.SCORED_KINDS]
    per_judgment = scoring.weighted_score(scored, parsed).groupby(pd.Series(versions)).mean()
    table = results.weighted(_frame(queue)).set_index("model_version")["mean"]
    assert table.to_dict() == pytest.approx(per_judgment.to_dict())
