"""The demo workspace: deterministic content, safe to load twice, usable right away."""

from __future__ import annotations

import hashlib
import html as html_module
import json
import re
from collections import Counter

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from annotate.assignment import claim_next
from annotate.models import Cohort, Item, Membership, Queue, Role, RubricVersion, Workspace
from evals.demo import workspace as demo
from evals.demo.content import NEW_VERSION, OLD_VERSION
from evals.models import Log


def content_hash(rows: list[dict]) -> str:
    """A SHA-256 over the rows' text, for checking that generation is deterministic."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def counts() -> dict[str, int]:
    return {
        "workspaces": Workspace.objects.count(),
        "logs": Log.objects.count(),
        "items": Item.objects.count(),
        "queues": Queue.objects.count(),
        "memberships": Membership.objects.count(),
        "rubric_versions": RubricVersion.objects.count(),
    }


def test_generating_logs_twice_gives_the_same_text():
    assert content_hash(demo.log_rows()) == content_hash(demo.log_rows())


def test_another_seed_gives_other_text():
    assert content_hash(demo.log_rows(seed=1)) != content_hash(demo.log_rows())


def test_generated_logs_are_varied_and_cover_the_topics():
    rows = demo.log_rows()
    assert len(rows) == 300
    assert len({row["output"] for row in rows}) > 200
    topics = Counter(row["metadata"]["topic"] for row in rows)
    for topic in ["medication", "symptoms", "appointments", "lab results", "vaccines",
                  "chronic conditions", "mental health", "paediatrics"]:  # fmt: skip
        assert topics[topic] >= 5, topic
    versions = Counter(row["model_version"] for row in rows)
    assert set(versions) == {OLD_VERSION, NEW_VERSION}
    assert min(versions.values()) > 100
    assert 10 < sum(row["feedback_negative"] for row in rows) < 100
    chats = [row for row in rows if row["input_messages"]]
    assert chats and all(row["input_messages"][0]["role"] == "system" for row in chats)
    assert any("| " in row["output"] for row in rows), "a markdown table"
    assert any("\n- " in row["output"] for row in rows), "a markdown list"
    assert {"en-GB", "en-US"} <= {row["metadata"]["locale"] for row in rows}


@pytest.mark.django_db
def test_loading_twice_changes_nothing_and_says_so(capsys):
    call_command("load_demo")
    first = counts()
    call_command("load_demo")
    assert counts() == first
    out = capsys.readouterr().out
    assert "already exists" in out
    assert "demo-clinician1" in out and demo.DEMO_PASSWORD in out
    assert first["logs"] == 300
    assert first["items"] == 2 * demo.QUEUE_SIZE


@pytest.mark.django_db
def test_demo_people_have_their_roles_and_cohorts():
    workspace = demo.load_demo()
    roles = Counter(workspace.memberships.values_list("role", flat=True))
    assert roles == {Role.ADMIN: 1, Role.AUTHOR: 1, Role.ENGINEER: 1, Role.REVIEWER: 6}
    clinicians = Cohort.objects.get(workspace=workspace, name="Clinicians")
    lay = Cohort.objects.get(workspace=workspace, name="Lay reviewers")
    assert sorted(clinicians.members.values_list("username", flat=True)) == [
        "demo-clinician1", "demo-clinician2", "demo-clinician3"
    ]  # fmt: skip
    assert lay.members.count() == 3
    assert authenticate(username="demo-author", password=demo.DEMO_PASSWORD) is not None


@pytest.mark.django_db
def test_demo_rubric_is_published_and_queues_need_two_and_three_judgments():
    workspace = demo.load_demo()
    version = RubricVersion.objects.get(rubric__workspace=workspace)
    assert version.is_published
    kinds = dict(version.criteria.values_list("key", "kind"))
    assert kinds == {
        "consensus": "likert",
        "harm": "categorical",
        "clarity": "likert",
        "safe": "pass_fail",
        "comment": "free_text",
    }
    assert all(
        len(level["description"]) > 10 for level in version.criteria.get(key="consensus").levels
    )
    queues = {q.name: q for q in workspace.queues.all()}
    assert queues["Clinician review"].judgments_per_item == 2
    assert queues["Lay clarity review"].judgments_per_item == 3
    assert list(queues["Lay clarity review"].cohorts.values_list("name", flat=True)) == [
        "Lay reviewers"
    ]
    assert queues["Clinician review"].items_total == demo.QUEUE_SIZE
    item = queues["Clinician review"].items.first()
    assert item.source_log is not None and item.output == item.source_log.output


@pytest.mark.django_db
def test_a_demo_clinician_can_claim_an_item_in_the_clinician_queue():
    workspace = demo.load_demo()
    clinician = workspace.memberships.get(user__username="demo-clinician2").user
    queue = workspace.queues.get(name="Clinician review")
    assignment = claim_next(queue, clinician)
    assert assignment is not None
    assert assignment.item.queue_id == queue.pk
    assert claim_next(workspace.queues.get(name="Lay clarity review"), clinician) is not None


@pytest.mark.django_db
def test_a_demo_clinician_opens_the_clinician_queue_and_sees_a_markdown_rendered_item(client):
    workspace = demo.load_demo()
    queue = workspace.queues.get(name="Clinician review")
    client.login(username="demo-clinician1", password=demo.DEMO_PASSWORD)
    home = client.get(f"/w/{workspace.slug}/")
    assert home.status_code == 200
    assert "Clinician review" in home.content.decode()
    assert "Lay clarity review" not in home.content.decode()
    page = client.get(f"/w/{workspace.slug}/queues/{queue.pk}/grade/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Agreement with medical consensus" in html
    assert "Fully in line with current consensus" in html  # level texts next to the scale
    item = queue.assignments.get(reviewer__username="demo-clinician1").item
    plain_words = re.findall(r"[A-Za-z ]{12,}", item.output)[0]
    assert plain_words in html_module.unescape(html)


@pytest.mark.django_db
def test_a_lay_reviewer_cannot_open_the_clinician_queue(client):
    workspace = demo.load_demo()
    queue = workspace.queues.get(name="Clinician review")
    client.login(username="demo-lay1", password=demo.DEMO_PASSWORD)
    assert client.get(f"/w/{workspace.slug}/queues/{queue.pk}/grade/").status_code == 404
