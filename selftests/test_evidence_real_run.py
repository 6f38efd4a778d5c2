"""A real gate run (the reference stack in a private network namespace, an odd token with
quotes, a backslash and a non-ASCII letter): its folder verifies (signature, attestation,
cross-checks: no false alarm on real gates), and the token appears in no file in any form."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.evidence.verify import verify_run
from selftests.gaterun import REPO, Lab
from selftests.test_evidence_redact import decoded, forms

pytestmark = [pytest.mark.slow]
TOKEN = "q\"uo'te\\back\\slash-ü-real-42"  # HTTP headers carry Latin-1: ü, not ∂


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[Lab]:
    place = Lab(f"vx11-evid-{worker_id}-{os.getpid()}", tmp_path_factory.mktemp("lab"))
    place.env["VX11_TOKEN"] = TOKEN
    yield place
    place.close()


def test_a_real_run_verifies_and_holds_no_form_of_the_token(lab: Lab, tmp_path: Path) -> None:
    lab.start()
    reports = tmp_path / "reports"
    done = lab.run([sys.executable, "-m", "pytest", "-m", "gate or baseline", "--launcher", "external",
                    "-p", "no:cacheprovider", f"--evidence-dir={reports}", "-q", "-rA"], timeout=600,
                   extra_env={"XDG_CONFIG_HOME": str(tmp_path / ".config")})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    (run,) = reports.glob("*/")
    result = verify_run(run, (tmp_path / ".config" / "vx11-gates" / "evidence-key.pub").read_bytes())
    assert result.problems == [] and result.pinned
    texts = decoded(run)
    texts["terminal"] = done.stdout + done.stderr
    leaks = sorted({(name, form) for name, text in texts.items() for form in forms(TOKEN) if form in text})
    assert leaks == []
    assert any(name.startswith("logs/") for name in texts)
    assert str(REPO) in texts["verdict.json"]  # the profile path: run_info is there
