"""examples/ci-workflow.yml is YAML that CI systems parse, and it gates the user's own stack:
full history, the stack brought up (or a deployed staging stack), the release command with
the external launcher and the user's profile, the evidence verified against a pinned key and
uploaded, the archive kept for the nightly job. Every suite script and option it names exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "examples" / "ci-workflow.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def runs(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(workflow, job))


def test_it_parses_and_has_the_triggers(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push", "workflow_dispatch", "schedule"} <= set(triggers)
    assert set(workflow["jobs"]) == {"gates", "nightly"}
    for job in workflow["jobs"].values():
        assert job["timeout-minutes"] > 0 and all("uses" in s or "run" in s for s in job["steps"])


@pytest.mark.parametrize("job", ["gates", "nightly"])
def test_the_stack_is_checked_out_with_full_history_and_brought_up(workflow: dict[str, Any], job: str) -> None:
    own = [s for s in steps(workflow, job) if str(s.get("uses", "")).startswith("actions/checkout")
           and "repository" not in (s.get("with") or {})]
    assert own and own[0]["with"]["fetch-depth"] == 0
    assert "docker compose up -d --wait" in runs(workflow, job)
    assert "docker compose down" in runs(workflow, job)


def test_the_release_command_judges_the_users_stack(workflow: dict[str, Any]) -> None:
    text = runs(workflow, "gates")
    assert "scripts/gate --launcher external" in text
    assert '--vx11-profile="$GITHUB_WORKSPACE/vx11.toml"' in text and "vx11-staging.toml" in text
    assert "stack/compose.yml" not in text and "--launcher compose" not in text  # not the suite's own stack


@pytest.mark.parametrize("job", ["gates", "nightly"])
def test_the_evidence_is_verified_against_a_pinned_key_and_kept(workflow: dict[str, Any], job: str) -> None:
    verify = [s for s in steps(workflow, job) if "verify-evidence" in str(s.get("run", ""))]
    assert verify and verify[0]["if"] == "always()" and "--pubkey vx11-evidence.pub" in verify[0]["run"]
    upload = [s for s in steps(workflow, job) if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["path"] == "reports/" and upload[0]["if"] == "always()"
    assert workflow["env"]["VX11_EVIDENCE_KEY"] == "${{ secrets.VX11_EVIDENCE_KEY }}"


def test_the_nightly_job_keeps_the_archive_and_checks_the_chain(workflow: dict[str, Any]) -> None:
    uses = [str(s.get("uses", "")) for s in steps(workflow, "nightly")]
    assert any(u.startswith("actions/cache/restore") for u in uses) and any(u.startswith("actions/cache/save") for u in uses)
    text = runs(workflow, "nightly")
    assert "--baseline-compare=last" in text and "archive-index" in text and "chain BROKEN" in text


def test_every_suite_script_and_option_it_names_exists(workflow: dict[str, Any]) -> None:
    text = runs(workflow, "gates") + "\n" + runs(workflow, "nightly")
    scripts = set(re.findall(r"\.vx11-gates/scripts/([\w-]+)", text))
    assert scripts >= {"setup", "gate", "verify-evidence", "archive-index"}
    assert all((REPO / "scripts" / s).is_file() for s in scripts), scripts
    helped = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False).stdout
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", text)) - {"--pubkey", "--wait", "--wait-timeout",
                                                                      "--no-install-recommends"}
    missing = sorted(o for o in options if o not in helped)
    assert missing == [], f"options the workflow passes that the suite does not know: {missing}"
