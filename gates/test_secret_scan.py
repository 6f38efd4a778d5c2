"""Secret scan (gate 3): no hardcoded secret in the stack's tracked files or in its git
history, and no .env file tracked. Known, accepted findings live in a reviewed
allowlist, each with a reason. Findings are shown redacted, never in full."""

from __future__ import annotations

import pytest

from fixtures.gatekit.expect import expect

pytestmark = [pytest.mark.gate]
GATE = "secret_scan"


@pytest.fixture(scope="module")
def scan(profile):
    from fixtures.secrets.allow import Allowlist
    from fixtures.secrets.findings import AllowlistError, GitError
    from fixtures.secrets.scan import scan_repo

    allow_path = profile.secrets.get("allowlist_path")
    try:
        allow = Allowlist.load(allow_path) if allow_path and allow_path.is_file() else None
    except AllowlistError as exc:
        pytest.fail(f"{GATE}: allowlist: entries: expected valid, found {exc}", pytrace=False)
    try:
        return scan_repo(profile.root, history=bool(profile.secrets.get("history", True)), allowlist=allow)
    except GitError as exc:
        pytest.fail(f"{GATE}: {profile.root}: git repository: expected one (the scan covers tracked files and "
                    f"history), found {exc}", pytrace=False)


def test_no_hardcoded_secrets(scan, evidence):
    findings = [f for f in scan.findings if f.rule != "tracked_env"]
    evidence.metric("secrets_found", len(findings))
    evidence.attach("secret scan", f"{scan.files_scanned} files, {scan.blobs_scanned} history blobs, "
                    f"{scan.bytes_scanned} bytes in {scan.seconds:.2f}s; {len(findings)} findings, "
                    f"{len(scan.allowed)} allowed\n" + "\n".join(str(f) for f in scan.findings[:50]))
    expect(not findings, GATE, "stack repository", "hardcoded secrets", 0, len(findings),
           evidence="\n".join(str(f) for f in findings[:10]),
           fix="remove the secret, rotate it, and purge it from history; or allowlist it with a reason")


def test_no_tracked_env_file(scan):
    envs = [f for f in scan.findings if f.rule == "tracked_env"]
    expect(not envs, GATE, "stack repository", "tracked .env files", 0, len(envs),
           evidence="\n".join(str(f) for f in envs[:10]), fix="git rm --cached the file and rotate what it held")
