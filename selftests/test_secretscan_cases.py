"""The secret scan's could-not-look cases, its file layer and the families the field's
scanners know, on real git repositories made here with real `git`.

Every fake secret is assembled at run time from pieces and seeded random text, so no
live-looking secret is ever written in this file (the suite's own repo is scanned too).
"""

from __future__ import annotations

import base64
import json
import os
import string
import subprocess
import sys

import pytest

from fixtures.errors import EXIT_COULD_NOT_LOOK, CouldNotLook
from fixtures.secrets.allow import Allowlist
from fixtures.secrets.field import FieldRulesError
from fixtures.secrets.findings import NothingRead, SecretScanError, ShallowHistory
from fixtures.secrets.scan import scan_repo
from selftests.test_secretscan import ALNUM, HEX, SUITE, commit, git, new_repo, rand, remove

UPPER = string.ascii_uppercase
B32 = UPPER + "234567"


# --- could not look -----------------------------------------------------------------

def test_a_shallow_clone_could_not_look_at_history(tmp_path):
    origin = new_repo(tmp_path / "origin", {"a.py": "x = 1\n"})
    commit(origin, {"b.py": "y = 2\n"}, "second")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)], check=True,
                   capture_output=True)
    with pytest.raises(ShallowHistory, match="shallow clone") as info:
        scan_repo(clone)
    assert isinstance(info.value, CouldNotLook) and info.value.exit_code == EXIT_COULD_NOT_LOOK
    assert scan_repo(clone, history=False).files_scanned == 2  # the tree alone can be looked at


@pytest.mark.parametrize("files", [{}, {"logo.png": b"\x89PNG\0\0\0"}], ids=["no file", "binary only"])
def test_a_scan_that_read_no_file_could_not_look(tmp_path, files):
    repo = new_repo(tmp_path / "r", files)
    if not files:
        git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    with pytest.raises(NothingRead, match="read no file") as info:
        scan_repo(repo)
    assert info.value.exit_code == EXIT_COULD_NOT_LOOK


def test_cli_exits_3_when_it_could_not_look(tmp_path):
    repo = new_repo(tmp_path / "r", {"only.bin": b"\0\1\2"})
    out = subprocess.run([sys.executable, "-m", "fixtures.secrets", str(repo)], cwd=SUITE,
                         capture_output=True, text=True)
    assert out.returncode == 3 and "could not look" in out.stderr and "read no file" in out.stderr


def test_the_field_rule_set_missing_is_could_not_look(tmp_path):
    code = ("import sys; sys.modules['hyperscan'] = None\n"
            "from fixtures.secrets.field import load, FieldRulesError\n"
            "try:\n    load()\nexcept FieldRulesError as exc:\n    print('refused:', exc); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=SUITE, capture_output=True, text=True,
                         env={**os.environ, "VX11_SECRETS_CACHE": str(tmp_path)})
    assert out.returncode == 3 and "hyperscan wheel is not installed" in out.stdout, out.stderr
    assert issubclass(FieldRulesError, SecretScanError)


def test_left_out_files_are_counted_and_listed(tmp_path):
    sub = new_repo(tmp_path / "sub", {"s.py": "s = 1\n"})
    repo = new_repo(tmp_path / "r", {"ok.py": "x = 1\n", "img.bin": b"\0PNG"})
    (repo / "link.py").symlink_to("ok.py")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendored")
    commit(repo, {}, "link and submodule")
    result = scan_repo(repo)
    assert {(s.path, s.reason) for s in result.skipped} == {
        ("img.bin", "binary"), ("link.py", "symlink"), ("vendored", "submodule")}
    assert all("left out" in str(s) for s in result.skipped)


def test_large_files_are_scanned_in_parts_not_skipped(tmp_path):
    tokens = ["gl" + "pat-" + rand(ALNUM, 20) for _ in range(4)]
    filler = "".join(f"line {n} of nothing much\n" for n in range(400))
    straddle = "#" * 2985 + f"{tokens[3]}\n"  # the token crosses the first part's end
    text = straddle + f"a = '{tokens[0]}'\n" + filler + f"b = '{tokens[1]}'\n" + filler + f"c = '{tokens[2]}'\n"
    repo = new_repo(tmp_path / "r", {"big.py": text})
    commit(repo, {"old.py": "# an older copy\n" + text}, "a second copy")
    remove(repo, "old.py")
    result = scan_repo(repo, max_bytes=3000)  # the file is about 8 times that
    lines = [n + 1 for n, line in enumerate(text.splitlines()) if "pat-" in line]
    assert sorted((f.path, f.line) for f in result.findings if f.where == "tree") == [
        ("big.py", n) for n in lines]
    assert {(f.path, f.where) for f in result.findings} == {("big.py", "tree"), ("old.py", "history")}
    assert result.skipped == () and result.bytes_scanned == 2 * len(text) + len("# an older copy\n")


# --- the file layer: live token, .env files, allowlist --------------------------------

def test_the_live_token_is_found_in_the_tree_and_history_and_never_shown(tmp_path):
    live = "vx11-" + rand(ALNUM, 20)
    repo = new_repo(tmp_path / "r", {"notes.md": f"ops used {live} once\n",
                                     "deploy/.env.prod": f"VX11_TOKEN={live}\n"})
    commit(repo, {"old/run.sh": f"export VX11_TOKEN={live}\n"}, "script")
    remove(repo, "old/run.sh")
    result = scan_repo(repo, needles=(live,))
    found = {(f.path, f.where) for f in result.findings if f.rule == "live-token"}
    assert found == {("notes.md", "tree"), ("deploy/.env.prod", "tree"), ("old/run.sh", "history")}
    assert {f.rule for f in result.findings} == {"live-token", "tracked_env"}  # no other rule shows its head
    shown = "\n".join([json.dumps(result.to_dict()), *map(str, result.findings)])
    assert live not in shown and live[:9] not in shown
    allow = Allowlist.parse("".join(f'[[allow]]\nfingerprint = "{f.fingerprint}"\nreason = "no"\n'
                                    for f in result.findings))
    assert {f.rule for f in scan_repo(repo, needles=(live,), allowlist=allow).findings} == {"live-token"}
    assert {"env-secret", "generic-secret"} <= {f.rule for f in scan_repo(repo).findings}  # no needle: heads shown


def test_env_files_and_templates_follow_the_contract(tmp_path):
    repo = new_repo(tmp_path / "r", {
        ".env.example": "DB_PASSWORD=\nAPI_KEY=<from the vault>\nHOST=${HOST}\n",
        "deploy/.env.sample": "MODE=production\nDB_PASSWORD=\n",
        "app/.env.local": "LOG_LEVEL=debug\n"})
    commit(repo, {".env.production": "DB_PASSWORD=" + rand(HEX, 8) + "\n"}, "oops")
    remove(repo, ".env.production")
    found = {(f.rule, f.path, f.where) for f in scan_repo(repo).findings}
    assert found == {("env-template-value", "deploy/.env.sample", "tree"),
                     ("tracked_env", "app/.env.local", "tree"),
                     ("tracked_env", ".env.production", "history"),
                     ("env-secret", ".env.production", "history")}


def test_allowlist_entries_match_on_path_and_unused_ones_are_shown(tmp_path):
    token = "gl" + "pat-" + rand(ALNUM, 20)
    repo = new_repo(tmp_path / "r", {"a/ci.yml": f"t: {token}\n", "b/ci.yml": f"t: {token}\n"})
    fp = scan_repo(repo, history=False).findings[0].fingerprint
    allow = Allowlist.parse(f'[[allow]]\nfingerprint = "{fp}"\npath = "a/*"\nreason = "revoked"\n'
                            f'[[allow]]\nfingerprint = "{"0" * 64}"\nreason = "gone long ago"\n')
    result = scan_repo(repo, history=False, allowlist=allow)
    assert [f.path for f in result.allowed] == ["a/ci.yml"] and [f.path for f in result.findings] == ["b/ci.yml"]
    assert result.unused_allowlist == ("0" * 64,)


# --- families (the field's rule set and ours) --------------------------------------------

def _ed25519() -> str:
    body = base64.b64encode(b"openssh-key-v1\0" + os.urandom(300)).decode()
    kind = "OPENSSH PRIVATE" + " KEY"
    return f"-----BEGIN {kind}-----\n" + "\n".join(body[i:i + 70] for i in range(0, len(body), 70)) \
        + f"\n-----END {kind}-----\n"


def _openai(kind: str) -> str:
    return "sk-" + kind + "-" + rand(ALNUM + "_-", 74) + "T3Blbk" + "FJ" + rand(ALNUM + "_-", 74)


FAMILIES: dict[str, tuple[str, str]] = {
    "openai-project": ("src/llm.py", f'OPENAI_API_KEY = "{_openai("proj")}"\n'),
    "openai-admin": ("docs/llm.md", f"Admin key: `{_openai('admin')}`\n"),
    "anthropic": ("notebooks/a.ipynb", json.dumps({"cells": [{"source": [
        'client = Anthropic(api_key="sk-ant-api03-' + rand(ALNUM + "_-", 93) + 'AA")\n']}]})),
    "azure-ad-client-secret": ("config/azure.yaml", "client_secret: " + rand(ALNUM, 3) + "8Q~"
                               + rand(ALNUM + "_~.-", 31) + "\n"),
    "azure-storage-connection": ("config/storage.env.json", json.dumps({"conn": (
        "DefaultEndpointsProtocol=https;AccountName=vx11store;AccountKey=" + rand(ALNUM + "+/", 86)
        + "==;EndpointSuffix=core.windows.net")})),
    "docker-config-auth": ("deploy/config.json", json.dumps({"auths": {"registry.local:5000": {
        "auth": base64.b64encode(f"ci:{rand(ALNUM, 18)}".encode()).decode()}}})),
    "gitlab-runner": ("ci/runner.toml", 'token = "gl' + "rt-" + rand(ALNUM, 20) + '"\n'),
    "gitlab-deploy": ("ci/deploy.sh", "export DEPLOY_TOKEN=gl" + "dt-" + rand(ALNUM, 20) + "\n"),
    "gitlab-pipeline-trigger": ("ci/trigger.sh", "curl -F token=gl" + "ptt-" + rand(HEX, 40) + " x\n"),
    "slack-app": ("bots/app.py", 'APP = "xa' + "pp-1-A" + rand(string.digits, 10) + "-"
                  + rand(string.digits, 13) + "-" + rand(HEX, 64) + '"\n'),
    "slack-config-refresh": ("bots/refresh.txt", "xo" + "xe-1-" + rand(ALNUM, 146) + "\n"),
    "aws-asia": ("infra/sts.tf", 'access_key = "AS' + "IA" + rand(B32, 16) + '"\n'),
    "aws-abia": ("infra/other.tf", 'access_key = "AB' + "IA" + rand(B32, 16) + '"\n'),
    "curl-user": ("scripts/get.sh", f"curl -u admin:{rand(ALNUM, 16)} https://gateway.internal/api\n"),
    "authorization-header": ("docs/api.md", "```http\nGET /x HTTP/1.1\nAuthorization: Bearer "
                             + rand(ALNUM, 40) + "\n```\n"),
    "jdbc-password": ("config/app.properties", "db.url=jdbc:postgresql://db:5432/vx11?user=vx11&password="
                      + rand(ALNUM, 14) + "\n"),
    "env-short-hex": ("deploy/.env.staging", "REDIS_PASSWORD=" + rand(HEX, 8) + "\n"),
    "ed25519-in-docs": ("docs/ops/deploy-key.md", "Runner key:\n\n```\n" + _ed25519() + "```\n"),
    "flyio-token": ("docs/fly.md", "Deploy from CI with\n\n    fo" + "1_" + rand(ALNUM + "_-", 43) + "\n"),
    "twitter-bearer": ("config/x.yaml", "x:\n  bearer: \"" + "A" * 22 + rand(ALNUM + "%", 90) + "\"\n"),
    # the secret is the rule's second group (the first is the keyword: sonar_(login))
    "sonar-keyword-group": ("ci/sonar.properties", "sonar.login=" + rand("abcdef0123456789", 40) + "\n"),
    # typed filler in a provider's own format is reported, as the field's scanners report it
    "provider-format-typed-filler": ("bots/legacy.py", 'SLACK = "xo' + "xb-123456789012-" + rand(ALNUM, 24) + '"\n'),
    # base64 key bytes hold runs of A (zero bytes): no filler in a long value
    "zero-run-in-long-token": ("deploy/fly.toml", 'token = "FlyV1 fm2_' + rand(ALNUM, 12) + "AAAAAAAA"
                               + rand(ALNUM + "/+", 120) + '"\n'),
    # a notebook's cell code is JSON-escaped: SONAR_LOGIN = \"…\" is judged as the cell reads
    "notebook-escaped-code": ("notebooks/ci.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": [
        "import os\n", 'SONAR_LOGIN = "' + rand("abcdef0123456789", 40) + '"\n']}]}, indent=1)),
    # letters only (no digit 2-7 among the 16: about 1 in 28 real ids) is a key id, not words
    "aws-key-id-letters-only": ("infra/letters.tf", 'access_key = "AK' + "IA" + rand(UPPER, 16) + '"\n'),
    # a JWT with a whole header is reported even when it is the documentation's example user
    "jwt-example-user": ("docs/auth.md", "```\n" + ".".join([
        base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("="),
        base64.urlsafe_b64encode(b'{"sub":"1234567890","name":"John Doe","iat":1516239022}').decode().rstrip("="),
        rand(ALNUM + "_-", 43)]) + "\n```\n"),
}
DECOYS: dict[str, tuple[str, str]] = {
    "openai-placeholder": ("d/llm.py", 'OPENAI_API_KEY = "sk-proj-...your key..."\n'),
    "docker-no-auth": ("d/config.json", json.dumps({"auths": {"ghcr.io": {}}, "credsStore": "desktop"})),
    "jdbc-variable": ("d/app.properties", "db.url=jdbc:postgresql://db/vx11?user=vx11&password=${DB_PASSWORD}\n"),
    "header-variable": ("d/api.sh", 'curl -H "Authorization: Bearer $VX11_TOKEN" http://gw:8000/x\n'),
    "curl-variables": ("d/get.sh", "curl -u $USERNAME:$PASSWORD https://gateway.internal/api\n"),
    "env-example": ("d/.env.example", "REDIS_PASSWORD=\n"),
    "key-placeholder": ("d/keys.md", "```\n-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH"
                        " PRIVATE KEY-----\n```\n"),
    "base64-zero-bytes": ("d/icon.html", '<img src="data:image/png;base64,' + rand(ALNUM, 40) + "+" + "A" * 26
                          + rand(ALNUM, 90) + "/" + rand(ALNUM, 60) + '=">\n'),
    "long-filler-run-after-a-short-one": ("d/gh.md", "token: gh" + "p_" + "0" * 6 + "Z" * 30 + "\n"),
    "slack-prefix-then-words": ("d/slack.sh", "xo" + "xe.xo" + "xp-1-SlackAppConfigurationAccessTokenHere\n"),
    "vault-prefix-then-caps": ("d/vault.yaml", "token: s." + "THISSTRINGISALLUPPERCASE\n"),
    "jwt-cut-off-header": ("d/jwt.md", base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode()[:-2]
                           + "." + base64.urlsafe_b64encode(b'{"sub":"42","iat":1516239022}').decode().rstrip("=")
                           + "." + rand(ALNUM + "_-", 43) + "\n"),
}


@pytest.fixture(scope="module")
def family_scan(tmp_path_factory):
    repo = new_repo(tmp_path_factory.mktemp("families"), dict(FAMILIES.values()) | dict(DECOYS.values()))
    return scan_repo(repo)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_is_found(family_scan, name):
    path = FAMILIES[name][0]
    assert [f.rule for f in family_scan.findings if f.path == path and f.rule != "tracked_env"], \
        f"{name}: nothing reported in {path}"


@pytest.mark.parametrize("name", sorted(DECOYS))
def test_decoy_is_not_reported(family_scan, name):
    path = DECOYS[name][0]
    assert not [str(f) for f in family_scan.findings if f.path == path]


def _published_google_key(n: int = 0) -> str:
    """The n-th Google key that gitleaks' rule generator lists as published (a negative of its
    samples, stored encoded in bench/): never written out in this tree."""
    import re

    from bench.secret_corpus import build

    files, cases = build()
    keys = sorted({m.group() for c in cases if c.rule == "gcp-api-key" and not c.positive
                   for m in re.finditer(r"AIzaSy[\w-]{33}", files[c.path])
                   if not re.search(r"(?i)abcdefghij|123456789", m.group())})  # typed filler: not published
    assert len(keys) > n, "too few published Google keys among the samples"
    return keys[n]


def test_a_published_google_key_is_left_out_a_new_one_is_not(tmp_path):
    """Kingfisher knows Google's published keys: it leaves them out and reports the same key with
    one character changed. The gate asks it (offline, one call a scan, for the keys of the tree
    and of history) and allows those, with the reason, in the tree and in history (where one key
    is only in history). A key Kingfisher silences by pattern (typed filler), its control silenced
    too, stays a finding."""
    fresh = "AIza" + rand(ALNUM + "_-", 35)
    typed = "AIzaSy" + "D1234567" + "89" + rand(ALNUM, 23)
    repo = new_repo(tmp_path / "r", {"web/firebase.js": f'const apiKey = "{_published_google_key()}";\n',
                                     "src/maps.py": f'MAPS_KEY = "{fresh}"\n', "src/geo.py": f'GEO = "{typed}"\n'})
    commit(repo, {"old/maps.py": f'KEY = "{_published_google_key()}"\n'}, "history too")
    commit(repo, {"old/sdk.js": f'var k = "{_published_google_key(1)}";\n'}, "a key only history keeps")
    remove(repo, "old/sdk.js")
    result = scan_repo(repo)
    assert sorted({f.path for f in result.findings}) == ["src/geo.py", "src/maps.py"], \
        [str(f) for f in result.findings]
    assert sorted(f.path for f in result.allowed) == ["old/maps.py", "old/sdk.js", "web/firebase.js"]
    assert all("published in Google's own samples" in (f.reason or "") for f in result.allowed)


def test_forked_workers_hand_their_google_keys_back_for_one_call(tmp_path, monkeypatch):
    """With the work split over forked workers, the keys they found come back to the scan, which
    asks Kingfisher once for the tree and history together."""
    from fixtures.secrets import read, scan

    calls = []
    real = scan.published_keys

    def counted(keys):
        calls.append(len(keys))
        return real(keys)

    monkeypatch.setattr(read, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan, "published_keys", counted)
    fresh = "AIza" + rand(ALNUM + "_-", 35)
    files = {f"web/page{i}.js": f'const k{i} = "{_published_google_key(i % 2)}";\n' for i in range(6)}
    repo = new_repo(tmp_path / "r", {**files, "src/maps.py": f'MAPS_KEY = "{fresh}"\n'})
    commit(repo, {"old/sdk.js": f'var k = "{_published_google_key(2)}";\n'}, "a key only history keeps")
    remove(repo, "old/sdk.js")
    result = scan_repo(repo, jobs=2)
    assert calls == [4], calls
    assert [f.path for f in result.findings] == ["src/maps.py"], [str(f) for f in result.findings]
    assert sorted(f.path for f in result.allowed) == ["old/sdk.js"] + sorted(files)


def test_an_allowlist_entry_for_a_published_key_stays_in_use(tmp_path):
    """The allowlist is asked first: its entry for a published key is used (never shown as unused,
    so a run whose Kingfisher call fails still allows the key), with its own reason."""
    repo = new_repo(tmp_path / "r", {"web/firebase.js": f'const apiKey = "{_published_google_key()}";\n'})
    first = scan_repo(repo, history=False)
    assert not first.findings and [f.rule for f in first.allowed] == ["google-api-key"], first.allowed
    allow = Allowlist.parse(f'[[allow]]\nfingerprint = "{first.allowed[0].fingerprint}"\n'
                            'rule = "google-api-key"\nreason = "Firebase web key, public by design"\n')
    result = scan_repo(repo, history=False, allowlist=allow)
    assert [f.reason for f in result.allowed] == ["Firebase web key, public by design"]
    assert result.unused_allowlist == () and not result.findings
