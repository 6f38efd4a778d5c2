"""Secret scan (gate 3): no hardcoded secret in the stack's tracked files or in its git
history, the live token's value nowhere, no .env file tracked and no .env template with
values. Known, accepted findings live in a reviewed allowlist, each with a reason.
Findings are shown redacted, never in full; a scan that could not look (no git
repository, a shallow clone, no file read) is an error (exit 3), never a clean pass."""

from __future__ import annotations

import pytest

from fixtures.gatekit.expect import expect
from fixtures.gatekit.plugin import busy

pytestmark = [pytest.mark.gate]
GATE = "secret_scan"
FILE_LEVEL = ("tracked_env", "env-template-value")


@pytest.fixture(scope="module")
def scan(profile, token):
    from fixtures.secrets.allow import Allowlist
    from fixtures.secrets.scan import scan_repo

    allow_path = profile.secrets.get("allowlist_path")
    allow = Allowlist.load(allow_path) if allow_path and allow_path.is_file() else None  # BadUsage: exit 4
    with busy(profile):  # the scanners take every core; no latency is measured meanwhile
        return scan_repo(profile.root, history=bool(profile.secrets.get("history", True)), allowlist=allow,
                         needles=(token,))  # SecretScanError is CouldNotLook: exit 3


def test_no_hardcoded_secrets(scan, evidence):
    findings = [f for f in scan.findings if f.rule not in FILE_LEVEL]
    evidence.metric("secrets_found", len(findings))
    evidence.attach("secret scan", f"{scan.files_scanned} files, {scan.blobs_scanned} history blobs, "
                    f"{scan.bytes_scanned} bytes in {scan.seconds:.2f}s; {len(findings)} findings, "
                    f"{len(scan.allowed)} allowed, {len(scan.skipped)} left out\n"
                    + "\n".join(str(f) for f in scan.findings[:50]))
    evidence.attach("secret scan: left out", f"{len(scan.skipped)} files or blobs not read\n"
                    + "\n".join(str(s) for s in scan.skipped))
    evidence.attach("secret scan: allowlist", f"{len(scan.allowed)} allowed, {len(scan.unused_allowlist)} "
                    "entries unused (remove them, or say why they stay)\n"
                    + "".join(f"unused: {fp}\n" for fp in scan.unused_allowlist)
                    + "".join(f"allowed: {f} ({f.reason})\n" for f in scan.allowed))
    expect(not findings, GATE, "stack repository", "hardcoded secrets", 0, len(findings),
           evidence="\n".join(str(f) for f in findings[:10]),
           fix="remove the secret, rotate it, and purge it from history; or allowlist it with a reason")


def test_live_token_nowhere(scan):
    found = [f for f in scan.findings if f.rule == "live-token"]
    expect(not found, GATE, "stack repository", "live token's value in tracked files and history", 0, len(found),
           evidence="\n".join(str(f) for f in found[:10]),
           fix="rotate the token now, remove it and purge it from history")


def test_no_tracked_env_file(scan):
    envs = [f for f in scan.findings if f.rule == "tracked_env"]
    expect(not envs, GATE, "stack repository", "tracked .env files", 0, len(envs),
           evidence="\n".join(str(f) for f in envs[:10]), fix="git rm --cached the file and rotate what it held")


def test_env_templates_hold_no_values(scan):
    values = [f for f in scan.findings if f.rule == "env-template-value"]
    expect(not values, GATE, "stack repository", "values in .env templates", 0, len(values),
           evidence="\n".join(str(f) for f in values[:10]),
           fix="a template (.env.example, .env.sample, .env.template) names the variables only: KEY=")
