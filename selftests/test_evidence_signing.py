"""Evidence an auditor can verify: the signed manifest, a rewritten verdict caught with and
without the key, the in-toto attestation checked by in-toto's own code, the chain over runs,
where the key comes from, and the report's header naming what was judged."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fixtures.evidence import archive, chain
from fixtures.evidence.signing import key_id, public_pem

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "evidence.md"
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
RUN_INFO = '''
import pytest
@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    session.config._vx11_run_info = {
        "stack_commit": "0123456789abcdef0123456789abcdef01234567", "profile": "/srv/ops/my stack.toml",
        "profile_sha256": "ab" * 32, "launcher": "external", "backend": "docker",
        "base_url": "http://127.0.0.1:8000", "project": "shop"}
'''
GATES = {
    "test_db_integrity": '"""Database stays whole."""\ndef test_db(evidence):\n    evidence.metric("db_checks_passed", 3)\n',
    "test_chat_endpoint": '"""Chat never 5xx."""\ndef test_chat():\n'
                          '    assert False, "chat_endpoint: /chat: status: expected 200, found 500"\n',
    "test_service_health": '"""Services are up."""\nimport pytest\n@pytest.mark.parametrize("svc", ["madre", "redis"])\n'
                           'def test_up(svc):\n    pass\n',
}


def _key() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return key, pem


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("VX11_TOKEN", "tok-signing-selftest-77")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(pytester.path / ".config"))
    monkeypatch.delenv("VX11_EVIDENCE_KEY", raising=False)
    monkeypatch.delenv("VX11_EVIDENCE_KEY_FILE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS + RUN_INFO)
    return pytester


def gate_run(pytester: pytest.Pytester, *args: str, fail: bool = True) -> Path:
    reports = pytester.path / "reports"
    before = set(reports.glob("*/"))
    files = dict(GATES)
    if not fail:
        files["test_chat_endpoint"] = '"""Chat never 5xx."""\ndef test_chat():\n    pass\n'
    pytester.makepyfile(**files)
    pytester.runpytest(*args)
    (run,) = set(reports.glob("*/")) - before
    return run


def verify_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "scripts" / "verify-evidence"), *map(str, args)], capture_output=True,
                          text=True, timeout=120, check=False)


def read(run: Path, name: str = "verdict.json") -> dict:
    return json.loads((run / name).read_text(encoding="utf-8"))


def promote_to_passed(run: Path) -> None:
    """What a forger does to a BLOCKED run's verdict.json: every gate passed, the line and exit code to match."""
    v = read(run)
    for g in v["gates"]:
        g["outcome"], g["failures"] = "passed", []
        g["tests"] = {**g["tests"], "passed": g["tests"]["passed"] + g["tests"]["failed"], "failed": 0}
    v["counts"].update(passed=v["counts"]["gates"], failed=0)
    v.update(verdict="PASSED", exit_code=0, exit_meaning="passed",
             line=f"RELEASE GATES: PASSED – {v['counts']['gates']} gates passed, 0 waived")
    (run / "verdict.json").write_text(json.dumps(v, indent=2), encoding="utf-8")


def test_a_run_is_signed_and_verifies_with_its_own_and_the_auditors_key(project: pytest.Pytester) -> None:
    run = gate_run(project)
    v = read(run)
    local = project.path / ".config" / "vx11-gates" / "evidence-key.pem"
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert v["signing"]["key_id"] == key_id(serialization.load_pem_private_key(local.read_bytes(), None).public_key())
    assert (run / "MANIFEST.sha256.sig").is_file() and (run / "evidence.pub").is_file()
    assert {"evidence.pub", "attestation.intoto.json", "MANIFEST.sha256.sig"} <= set(v["files"])
    done = verify_cli(run)
    assert done.returncode == 0 and "not pinned" in done.stdout, done.stdout
    pinned = verify_cli("--pubkey", local.with_suffix(".pub"), run)
    assert pinned.returncode == 0 and "pinned by --pubkey" in pinned.stdout, pinned.stdout
    other = project.path / "other.pub"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    wrong = verify_cli("--pubkey", other, run)
    assert wrong.returncode == 1 and "signature: key: expected" in wrong.stdout
    index = (project.path / "reports" / "index.html").read_text(encoding="utf-8")
    assert v["signing"]["key_id"][:16] in index


def test_a_rewritten_verdict_with_a_recomputed_manifest_fails_verify(project: pytest.Pytester) -> None:
    run = gate_run(project)
    assert read(run)["verdict"] == "BLOCKED"
    promote_to_passed(run)
    archive.write_manifest(run)  # the forger's `sha256sum * > MANIFEST.sha256`, without the key
    done = verify_cli(run)
    assert done.returncode == 1
    assert "signature: MANIFEST.sha256: does not verify with key" in done.stdout
    assert "crosscheck: chat_endpoint: outcome: expected not passed (junit.xml: 1 failed" in done.stdout
    assert "crosscheck: report.html: verdict line: expected 'RELEASE GATES: PASSED" in done.stdout
    assert "crosscheck: attestation: verdict: expected 'PASSED' (verdict.json), found 'BLOCKED'" in done.stdout


def test_without_any_key_the_files_still_give_the_forger_away(project: pytest.Pytester) -> None:
    """The forger removes the signature, the key and the attestation, and recomputes the manifest with
    sha256sum: nothing cryptographic is left, and the cross-checks alone fail the folder."""
    run = gate_run(project)
    promote_to_passed(run)
    v = read(run)
    v["signing"] = None
    v["files"] = [f for f in v["files"] if f not in ("evidence.pub", "attestation.intoto.json", "MANIFEST.sha256.sig")]
    (run / "verdict.json").write_text(json.dumps(v, indent=2), encoding="utf-8")
    for name in ("evidence.pub", "attestation.intoto.json", "MANIFEST.sha256.sig"):
        (run / name).unlink()
    files = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file() and p.name != "MANIFEST.sha256")
    listing = subprocess.run(["sha256sum", *files], cwd=run, capture_output=True, text=True, check=True, timeout=60)
    (run / "MANIFEST.sha256").write_text(listing.stdout)
    done = verify_cli(run)
    assert done.returncode == 1, done.stdout
    assert "changed" not in done.stdout and "signature" not in done.stdout  # hashes and signature are quiet
    assert "crosscheck: chat_endpoint: outcome: expected not passed" in done.stdout
    assert "crosscheck: chat_endpoint: tests: expected {'failed': 1} (junit.xml), found {'passed': 1}" in done.stdout
    assert "crosscheck: report.html: verdict line" in done.stdout


def test_a_resigned_forgery_fails_against_the_auditors_key(project: pytest.Pytester) -> None:
    """With a key of their own the forger can sign anything; the pinned key is what catches it."""
    run = gate_run(project, fail=False)
    trusted = project.path / ".config" / "vx11-gates" / "evidence-key.pub"
    forger, _ = _key()
    (run / "evidence.pub").write_bytes(public_pem(forger.public_key()))
    v = read(run)
    v["signing"]["key_id"] = key_id(forger.public_key())
    (run / "verdict.json").write_text(json.dumps(v, indent=2), encoding="utf-8")
    archive.write_manifest(run)
    (run / "MANIFEST.sha256.sig").write_text(base64.b64encode(forger.sign((run / "MANIFEST.sha256").read_bytes()))
                                            .decode())
    assert "signature: MANIFEST.sha256" not in verify_cli(run).stdout  # self-consistent, by another key
    done = verify_cli("--pubkey", trusted, run)
    assert done.returncode == 1 and "signature: key: expected" in done.stdout


def test_the_attestation_verifies_with_in_toto(project: pytest.Pytester) -> None:
    from in_toto.models.metadata import Envelope, Metadata
    from securesystemslib.signer import SSlibKey

    run = gate_run(project)
    envelope = Metadata.load(str(run / "attestation.intoto.json"))
    assert isinstance(envelope, Envelope)
    public = serialization.load_pem_public_key((run / "evidence.pub").read_bytes())
    key = SSlibKey.from_crypto(public)
    assert key.keyid == read(run)["signing"]["key_id"]  # our key id is securesystemslib's
    envelope.verify([key], 1)  # securesystemslib's DSSE verification; raises when it fails
    statement = json.loads(envelope.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://in-toto.io/attestation/test-result/v0.1"
    assert statement["subject"][0]["digest"] == {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}
    pred = statement["predicate"]
    assert pred["result"] == "FAILED" and pred["failedTests"] == ["test_chat_endpoint.py::test_chat"]
    assert len(pred["passedTests"]) == 3
    assert pred["configuration"] == [{"name": "/srv/ops/my stack.toml", "digest": {"sha256": "ab" * 32}}]

    # The auditor's command from docs/evidence.md, run as written: in-toto's and securesystemslib's code only.
    snippet = DOCS.read_text(encoding="utf-8").split("<!-- auditor-attestation -->")[1].split("```")[1]
    snippet = snippet.removeprefix("sh\n")
    ok = subprocess.run(["sh", "-c", snippet], cwd=run, capture_output=True, text=True, timeout=120, check=False,
                        env={**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"})
    assert ok.returncode == 0 and ok.stdout.startswith("attestation verified: FAILED"), ok.stdout + ok.stderr
    doc = json.loads((run / "attestation.intoto.json").read_text())
    doc["payload"] = base64.b64encode(envelope.payload.replace(b'"FAILED"', b'"PASSED"')).decode()
    (run / "attestation.intoto.json").write_text(json.dumps(doc))
    bad = subprocess.run(["sh", "-c", snippet], cwd=run, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"})
    assert bad.returncode != 0 and "VerificationError" in bad.stderr, bad.stdout + bad.stderr


def test_a_removed_or_edited_run_breaks_the_chain_visibly(project: pytest.Pytester) -> None:
    runs = [gate_run(project, fail=False), gate_run(project), gate_run(project, fail=False)]
    links = read(runs[2])["chain"]
    assert links["previous_run"] == runs[1].name
    assert read(runs[0])["chain"]["previous_run"] is None
    reports = project.path / "reports"
    assert chain.summary(chain.links(reports, archive.runs(reports))) == "chain: intact over 3 runs"

    shutil.rmtree(runs[1])
    index = archive.index_html(reports)
    told = f"chain BROKEN at {runs[2].name}: previous run {runs[1].name} is missing from the archive (removed?)"
    assert told in index
    row = index.split(f'href="{runs[2].name}/report.html"')[1].split("</tr>")[0]
    assert "BROKEN: previous run" in row

    # An edit with a recomputed manifest: the run itself verifies as consistent by hashes, the next link breaks.
    (runs[0] / "logs").mkdir(exist_ok=True)
    (runs[0] / "logs" / "note.txt").write_text("added later")
    archive.write_manifest(runs[0])
    rebuilt = subprocess.run([str(REPO / "scripts" / "archive-index"), str(reports)], capture_output=True, text=True,
                             timeout=120, check=False)
    assert rebuilt.returncode == 0
    links_now = {link.run: link for link in chain.links(reports, archive.runs(reports))}
    assert links_now[runs[2].name].state == "broken"
    assert links_now[runs[0].name].state == "first"


def test_the_key_from_the_environment_pem_or_base64_and_a_bad_one(project: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    key, pem = _key()
    monkeypatch.setenv("VX11_EVIDENCE_KEY", pem)
    run = gate_run(project, fail=False)
    assert read(run)["signing"] == {"algorithm": "ed25519", "key_id": key_id(key.public_key()),
                                    "source": "environment VX11_EVIDENCE_KEY"}
    assert not (project.path / ".config" / "vx11-gates").exists()  # no local key when CI gives one
    assert not any(b"PRIVATE KEY" in p.read_bytes() for p in run.rglob("*") if p.is_file())
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    monkeypatch.setenv("VX11_EVIDENCE_KEY", base64.b64encode(raw).decode())
    assert read(gate_run(project, fail=False))["signing"]["key_id"] == key_id(key.public_key())

    monkeypatch.setenv("VX11_EVIDENCE_KEY", "not-a-key-at-all")
    project.makepyfile(test_one="def test_one():\n    pass\n")
    result = project.runpytest("test_one.py")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["Exit: environment VX11_EVIDENCE_KEY: not an Ed25519 private key*"])
    assert "not-a-key-at-all" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["RELEASE GATES: BLOCKED – * (run aborted: environment VX11_EVIDENCE_KEY: *)"])


def test_report_opens_with_what_it_judged(project: pytest.Pytester) -> None:
    run = gate_run(project)
    html = (run / "report.html").read_text(encoding="utf-8")
    judged = html.split('class="vx11-table vx11-judged"')[1].split("</table>")[0]
    v = read(run)
    for label, value in [("run", run.name), ("stack commit", "0123456789abcdef0123456789abcdef01234567"),
                         ("profile", "/srv/ops/my stack.toml (sha256 " + "ab" * 32 + ")"),
                         ("suite version", v["run_info"]["suite_version"]), ("backend", "docker"),
                         ("launcher", "external"), ("base URL", "http://127.0.0.1:8000"),
                         ("started", v["started"]), ("finished", v["finished"]),
                         ("evidence key", v["signing"]["key_id"])]:
        assert f'<tr data-judged="{label}"><th>{label}</th><td>{value}</td></tr>' in judged, label
    assert html.index('class="vx11-table vx11-judged"') < html.index('<p class="vx11-line')  # first thing in the summary
