"""The manifest (JSON) and the README data card written beside every export."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from annotate.models import Criterion
from evals.exports.rows import Context, Tally, gold_field
from evals.exports.writers import format_time

CONSENSUS_RULE = {
    "adjudicated": "the adjudicated answer when there is one (consensus_override)",
    "likert": "median",
    "numeric": "median",
    "categorical": "majority; a tie gives null",
    "pass_fail": "majority; a tie gives null",
    "free_text": "not aggregated",
}
AGREEMENT_RULE = (
    "simple percent agreement per item: the share of reviewer pairs giving the same answer, "
    "per criterion (free text excluded), averaged over criteria; null with fewer than 2 judgments"
)
PAIRWISE_AGREEMENT_RULE = (
    "; a pairwise item's answer is its overall preference (a, b, tie or both_bad)"
)
PAIRWISE_CONSENSUS_RULE = {
    "preferred": "the adjudicated preference when there is one, else the majority of a, b, "
    "tie and both_bad; a tie gives null",
}


def _gold_available() -> bool:
    return gold_field() is not None


def _criterion_entry(criterion: Criterion) -> dict[str, Any]:
    return {
        "key": criterion.key,
        "name": criterion.name,
        "kind": criterion.kind,
        "required": criterion.required,
        "weight": criterion.weight,
        "config": criterion.config,
    }


def build_manifest(ctx: Context, tally: Tally, files: list[dict[str, Any]]) -> dict[str, Any]:
    spec = ctx.spec
    cohorts: dict[str, int] = Counter()
    for user_id in tally.reviewers:
        for name in filter(None, ctx.reviewers[user_id].cohorts.split(";")):
            cohorts[name] += 1
    mean = tally.agreement_sum / tally.agreement_items if tally.agreement_items else None
    return {
        "quorum_export": 1,
        "workspace": ctx.workspace.slug,
        "exported_at": format_time(spec.snapshot_at),
        "shape": spec.shape,
        "format": spec.format,
        "filters": spec.filters.as_dict(),
        "gold_filter_available": _gold_available(),
        "options": {"sft_threshold": spec.sft_threshold, "reviewer_names": spec.reviewer_names},
        "reviewer_ids": "usernames" if spec.reviewer_names else "pseudonymous",
        "rubric_versions": [
            {
                "rubric": v.rubric.name,
                "version": v.number,
                "published_at": format_time(v.published_at),
                "criteria": [_criterion_entry(c) for c in ctx.criteria_by_version[v.pk]],
            }
            for v in ctx.versions
        ],
        "cohorts": [{"name": name, "reviewers": n} for name, n in sorted(cohorts.items())],
        "counts": {
            "rows": tally.rows,
            "items": tally.items,
            "judgments": tally.judgments,
            "reviewers": len(tally.reviewers),
        },
        "agreement": {
            "method": AGREEMENT_RULE + (PAIRWISE_AGREEMENT_RULE if ctx.pairwise else ""),
            "items_with_agreement": tally.agreement_items,
            "mean_item_agreement": None if mean is None else round(mean, 6),
        },
        "consensus": CONSENSUS_RULE | (PAIRWISE_CONSENSUS_RULE if ctx.pairwise else {}),
        "files": files,
    }


def render_readme(manifest: dict[str, Any]) -> str:
    """The data card: what is in the files, where it came from, how to check them."""
    counts = manifest["counts"]
    agreement = manifest["agreement"]
    lines = [
        f"# Quorum export: {manifest['shape']} ({manifest['format']})",
        "",
        f"Workspace `{manifest['workspace']}`, snapshot taken {manifest['exported_at']}.",
        "",
        "## Counts",
        "",
        f"- rows: {counts['rows']}",
        f"- items: {counts['items']}",
        f"- judgments: {counts['judgments']}",
        f"- reviewers: {counts['reviewers']} ({manifest['reviewer_ids']})",
        "",
        "## Filters",
        "",
    ]
    for name, value in sorted(manifest["filters"].items()):
        lines.append(f"- {name}: {json.dumps(value)}")
    lines += ["", "## Rubric versions", ""]
    for version in manifest["rubric_versions"]:
        lines.append(f"### {version['rubric']} v{version['version']}")
        lines.append("")
        for c in version["criteria"]:
            required = "required" if c["required"] else "optional"
            lines.append(
                f"- `{c['key']}` {c['name']}: {c['kind']}, {required}, weight {c['weight']}"
            )
        lines.append("")
    lines += ["## Cohorts", ""]
    lines += [f"- {c['name']}: {c['reviewers']} reviewers" for c in manifest["cohorts"]] or [
        "- none"
    ]
    lines += [
        "",
        "## Agreement",
        "",
        f"- method: {agreement['method']}",
        f"- items with agreement: {agreement['items_with_agreement']}",
        f"- mean item agreement: {agreement['mean_item_agreement']}",
        "",
        "## Consensus",
        "",
    ]
    lines += [f"- {kind}: {rule}" for kind, rule in manifest["consensus"].items()]
    lines += ["", "## Files", ""]
    lines += [
        f"- `{f['name']}`: {f['bytes']} bytes, SHA-256 `{f['sha256']}`" for f in manifest["files"]
    ]
    lines += [
        "",
        "CSV cells that start with `=`, `+`, `-`, `@`, a tab, a carriage return or an apostrophe",
        "carry one extra leading apostrophe so spreadsheets do not run them as formulas.",
        "",
    ]
    return "\n".join(lines)
