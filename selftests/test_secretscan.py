"""The secret-scanning probe on real git repositories made here with real `git`.

Every fake secret is assembled at run time from pieces and seeded random text, so no
live-looking secret is ever written in this file (the suite's own repo is scanned too).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fixtures.secrets.allow import Allowlist
from fixtures.secrets.findings import AllowlistError, GitError, ScanResult, fingerprint, is_env_file
from fixtures.secrets.rules import scan_buffer
from fixtures.secrets.scan import scan_repo

SUITE = Path(__file__).resolve().parent.parent
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@localhost", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
_rng = random.Random(4242)


def rand(alphabet: str, n: int) -> str:
    """Seeded random text with a digit, a lower and an upper case letter when possible."""
    while True:
        s = "".join(_rng.choice(alphabet) for _ in range(n))
        low = s.lower()
        classes = [c for c in (string.digits, string.ascii_lowercase, string.ascii_uppercase)
                   if set(c) & set(alphabet)]
        if all(set(c) & set(s) for c in classes) and not any(
                w in low for w in ("xxxx", "your", "fake", "todo", "dummy", "test")):
            return s


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV})
    return out.stdout.strip()


def new_repo(path: Path, files: dict[str, str | bytes] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    if files:
        commit(path, files, "initial")
    return path


def commit(repo: Path, files: dict[str, str | bytes], message: str) -> str:
    for rel, content in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        (repo / rel).write_bytes(data)
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def remove(repo: Path, *paths: str) -> str:
    git(repo, "rm", "-q", "-r", *paths)
    git(repo, "commit", "-q", "-m", "remove " + " ".join(paths))
    return git(repo, "rev-parse", "HEAD")


def _jwt() -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return ".".join([seg({"alg": "HS256", "typ": "JWT"}), seg({"sub": rand(ALNUM, 10)}),
                     rand(ALNUM + "-_", 43)])


def _pem() -> str:
    kind = "EC PRIVATE" + " KEY"
    body = "\n".join(rand(ALNUM + "+/", 64) for _ in range(5))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


# name -> (expected rule, file name, file text). One file per sample.
SAMPLES: dict[str, tuple[str, str, str]] = {
    "aws-id": ("aws-access-key-id", "aws.py", 'KEY_ID = "AK' + "IA" + rand(string.ascii_uppercase
                                                                          + string.digits, 16) + '"'),
    "aws-secret": ("aws-secret-access-key", "aws_pair.py",
                   'id = "AK' + "IA" + rand(string.ascii_uppercase + string.digits, 16) + '"\n'
                   + 'sec = "' + rand(ALNUM + "+/", 40) + '"\n'),
    "github-ghp": ("github-token", "gh.py", 'T = "gh' + "p_" + rand(ALNUM, 36) + '"'),
    "github-ghs": ("github-token", "gh_app.js", "const t = 'gh" + "s_" + rand(ALNUM, 36) + "';"),
    "github-pat": ("github-fine-grained-pat", "ghpat.txt",
                   "github" + "_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)),
    "gitlab": ("gitlab-pat", "gl.sh", "curl -H 'PRIVATE-TOKEN: gl" + "pat-" + rand(ALNUM, 20) + "'"),
    "slack-token": ("slack-token", "slack.py", 'bot = "xo' + "xb-" + rand(string.digits, 12) + "-"
                    + rand(string.digits, 13) + "-" + rand(ALNUM, 24) + '"'),
    "slack-webhook": ("slack-webhook", "hook.md", "post to https://hooks.slack" + ".com/services/T"
                      + rand(string.ascii_uppercase, 9) + "/B" + rand(string.ascii_uppercase, 9)
                      + "/" + rand(ALNUM, 24)),
    "stripe": ("stripe-live-key", "pay.rb", "Stripe.api_key = 'sk" + "_live_" + rand(ALNUM, 24) + "'"),
    "stripe-restricted": ("stripe-live-key", "pay2.py", 'k = "rk' + "_live_" + rand(ALNUM, 24) + '"'),
    "google": ("google-api-key", "maps.html", '<script src="/m.js?key=AI' + "za"
               + rand(ALNUM + "-_", 35) + '"></script>'),
    "sendgrid": ("sendgrid-api-key", "mail.py", 'SG_KEY = "SG' + "." + rand(ALNUM, 22) + "."
                 + rand(ALNUM + "-_", 43) + '"'),
    "npm": ("npm-token", ".npmrc", "//registry.local/:_authToken=np" + "m_" + rand(ALNUM, 36)),
    "pypi": ("pypi-token", ".pypirc", "[pypi]\npassword = pypi-" + "AgEIcHl" + "waS5vcmc"
             + rand(ALNUM + "-_", 60) + "\n"),
    "twilio-sk": ("twilio-api-key", "sms.py", 'TWILIO = "S' + "K" + rand(HEX, 32) + '"'),
    "twilio-ac": ("twilio-account-sid", "sms2.py", 'ACCOUNT = "A' + "C" + rand(HEX, 32) + '"'),
    "jwt": ("jwt", "auth_test.py", 'AUTH = "Bearer ' + _jwt() + '"'),
    "private-key": ("private-key", "deploy/id_ec", _pem()),
    "private-key-json": ("private-key", "sa.json", json.dumps({"private_key": _pem()})),
    "url-credentials": ("url-credentials", "db.py", 'DSN = "postgresql://app:' + rand(ALNUM, 18)
                        + '@db.internal:5432/app"'),
    "generic-py": ("generic-secret", "settings.py", 'DB_PASSWORD = "' + rand(ALNUM + "!.-", 22) + '"'),
    "generic-yaml-bare": ("generic-secret", "config.yaml", "db:\n  api_token: " + rand(ALNUM, 30)
                          + "\n"),
    "generic-json": ("generic-secret", "creds.json", '{"client_secret": "' + rand(ALNUM, 32) + '"}'),
    "generic-env": ("generic-secret", "deploy/.env", "MODE=prod\nSESSION_SECRET=" + rand(ALNUM, 32)),
}

_GUID = "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12))
_H40 = rand(HEX, 40)
# name -> (file name, text): none of these may be reported.
DECOYS: dict[str, tuple[str, str]] = {
    "aws-doc-example": ("aws_doc.py", 'id = "AKIA' + "IOSFODNN7" + 'EXAMPLE"\nsecret = "wJalrXUtn'
                        + "FEMI/K7MDENG/bPxRfiCY" + 'EXAMPLEKEY"\n'),
    "xxxx": ("ph1.py", 'GITHUB_TOKEN = "gh' + "p_" + "x" * 36 + '"'),
    "your-key": ("ph2.py", 'api_key = "your-api-key-here-0000"'),
    "angle-brackets": ("ph3.yaml", 'token: "<paste-the-token-here-123>"'),
    "changeme": ("ph4.py", 'password = "changeme_changeme_123"'),
    "fake": ("ph5.py", 'SECRET_KEY = "fake-secret-for-unit-tests-98765"'),
    "dollar-brace": ("env1.yaml", "password: ${DB_PASSWORD_FROM_VAULT}\n"),
    "dollar": ("env2.sh", "export API_TOKEN=$CI_SERVICE_API_TOKEN_VALUE\n"),
    "os-environ": ("env3.py", 'password = os.environ["DB_PASSWORD"]'),
    "os-getenv": ("env4.py", 'token = os.getenv("API_TOKEN", "")'),
    "env-call": ("env5.py", 'SECRET_KEY = env("DJANGO_SECRET_KEY")'),
    "poetry-lock": ("poetry.lock", f'files = [{{file = "a.whl", hash = "sha256:{rand(HEX, 64)}"}}]'),
    "package-lock": ("package-lock.json", '{"integrity": "sha512-'
                     + base64.b64encode(_rng.randbytes(64)).decode() + '"}'),
    "uuid": ("ids.py", f'request_token = "{_GUID}"\nsecret = "{_GUID}"\n'),
    "commit-id": ("rev.py", f'rev = "{_H40}"\n# token rotation landed in {_H40}\n'),
    "comment": ("notes.py", "# the password is read from the vault; never put it here\n"),
    "url-placeholder": ("urls.py", 'A = "postgres://user:password@localhost/db"\n'
                        'B = "https://${USER}:${PASS}@example.org/"\n'),
    "pem-header-only": ("pem.py", 'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n'),
    "regex": ("rx.py", 'TOKEN_RE = r"gh' + 'p_[A-Za-z0-9]{36}"\n'),
    "annotation": ("ann.py", "def login(user: str, password: str) -> bool:\n"),
    "unsigned-jwt": ("jwt.py", 'T = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."\n'),
    "env-example": (".env.example", "API_TOKEN=\nDB_PASSWORD=\n"),
}


@pytest.fixture(scope="module")
def tree_scan(tmp_path_factory) -> ScanResult:
    repo = new_repo(tmp_path_factory.mktemp("tree") / "r",
                    {f"s/{name}/{file}": text for name, (_, file, text) in SAMPLES.items()})
    return scan_repo(repo)


@pytest.fixture(scope="module")
def history_scan(tmp_path_factory) -> tuple[ScanResult, str]:
    repo = new_repo(tmp_path_factory.mktemp("hist") / "r", {"README.md": "hello\n"})
    first = commit(repo, {f"s/{name}/{file}": text for name, (_, file, text) in SAMPLES.items()},
                   "add settings")
    remove(repo, "s")
    commit(repo, {"README.md": "hello again\n"}, "later work")
    return scan_repo(repo), first


@pytest.fixture(scope="module")
def decoy_scan(tmp_path_factory) -> ScanResult:
    repo = new_repo(tmp_path_factory.mktemp("decoys") / "r",
                    {f"d/{name}/{file}": text for name, (file, text) in DECOYS.items()})
    return scan_repo(repo)


@pytest.mark.parametrize("name", SAMPLES)
def test_family_found_in_working_tree(tree_scan, name):
    rule, file, _ = SAMPLES[name]
    found = {(f.rule, f.path) for f in tree_scan.findings if f.where == "tree"}
    assert (rule, f"s/{name}/{file}") in found, [str(f) for f in tree_scan.findings]


@pytest.mark.parametrize("name", SAMPLES)
def test_family_found_in_history_after_removal(history_scan, name):
    result, first = history_scan
    rule, file, _ = SAMPLES[name]
    hits = [f for f in result.findings if f.path == f"s/{name}/{file}" and f.rule == rule]
    assert hits and all(f.where == "history" and f.commit == first for f in hits), hits


def test_history_skips_blobs_identical_to_the_tree(tree_scan):
    assert tree_scan.blobs_scanned == 0
    assert not [f for f in tree_scan.findings if f.where == "history"]


@pytest.mark.parametrize("name", DECOYS)
def test_decoy_not_reported(decoy_scan, name):
    path = f"d/{name}/{DECOYS[name][0]}"
    assert not [str(f) for f in decoy_scan.findings if f.path == path]


def test_tracked_env_in_tree_and_history(tmp_path):
    repo = new_repo(tmp_path, {".env": "A=1\n", "config/prod.env": "B=2\n",
                               ".env.example": "A=\n", "app.py": "print(1)\n"})
    added = git(repo, "rev-parse", "HEAD")
    remove(repo, "config/prod.env")
    envs = {(f.path, f.where): f for f in scan_repo(repo).findings if f.rule == "tracked_env"}
    assert set(envs) == {(".env", "tree"), ("config/prod.env", "history")}
    assert envs[("config/prod.env", "history")].commit == added


@pytest.mark.parametrize("name,expected", [
    (".env", True), ("deploy/.env", True), ("prod.env", True), (".env.production", True),
    (".env.local", True), (".env.example", False), (".env.sample", False),
    (".env.template", False), ("env.py", False), ("environment.yml", False),
    ("dotenv", False), ("settings.env.py", False), ("bin/env", False),
])
def test_env_file_names(name, expected):
    assert is_env_file(name) is expected


def test_secret_on_a_merged_side_branch_is_found(tmp_path):
    repo = new_repo(tmp_path, {"sub/app.py": "x = 1\n"})
    git(repo, "checkout", "-q", "-b", "side")
    token = "gh" + "o_" + rand(ALNUM, 36)
    commit(repo, {"sub/conf.py": f'T = "{token}"\n'}, "oops")
    remove(repo, "sub/conf.py")
    git(repo, "checkout", "-q", "-")
    commit(repo, {"sub/app.py": "x = 2\n"}, "main work")
    git(repo, "merge", "-q", "--no-edit", "side")
    for root in (repo, repo / "sub"):
        assert [f.path for f in scan_repo(root).findings] == ["sub/conf.py"]


def test_subfolder_limits_tree_and_history(tmp_path):
    files = {f"{d}/conf.py": 'K = "gh' + "p_" + rand(ALNUM, 36) + '"\n' for d in ("sub", "other")}
    repo = new_repo(tmp_path, files)
    commit(repo, {f"{d}/old.py": 'K = "np' + "m_" + rand(ALNUM, 36) + '"\n'
                  for d in ("sub", "other")}, "more")
    remove(repo, "sub/old.py", "other/old.py")
    result = scan_repo(repo / "sub")
    assert sorted((f.path, f.where) for f in result.findings) == [
        ("sub/conf.py", "tree"), ("sub/old.py", "history")]
    assert [f.path for f in scan_repo(repo, pathspec="other").findings] == [
        "other/conf.py", "other/old.py"]


def _allow_toml(entries: list[dict[str, str]]) -> str:
    return "".join("[[allow]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in e.items())
                   for e in entries)


def test_allowlist_by_fingerprint_survives_a_move(tmp_path):
    line = 'URL = "https://' + "hooks.slack" + ".com/services/T" + rand(string.ascii_uppercase, 9) \
        + "/B" + rand(string.ascii_uppercase, 9) + "/" + rand(ALNUM, 24) + '"\n'
    repo = new_repo(tmp_path / "r", {"a/notify.py": "import os\n" + line})
    (finding,) = scan_repo(repo).findings
    allow_file = tmp_path / "allow.toml"
    allow_file.write_text(_allow_toml([{"fingerprint": finding.fingerprint, "rule": finding.rule,
                                        "reason": "test workspace hook, revoked"}]))
    (repo / "a/notify.py").write_text("import os\n")
    commit(repo, {"b/alerts/hook.py": "\n\n" + line}, "move the hook")
    result = scan_repo(repo, allowlist=Allowlist.load(allow_file))
    assert result.findings == ()
    assert {(f.path, f.where, f.line) for f in result.allowed} == {
        ("b/alerts/hook.py", "tree", 3), ("a/notify.py", "history", 2)}
    assert {f.reason for f in result.allowed} == {"test workspace hook, revoked"}
    assert result.unused_allowlist == ()


def test_unused_allowlist_entry_is_reported(tmp_path):
    repo = new_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    allow = Allowlist.parse(_allow_toml([{"fingerprint": "a" * 64, "reason": "old"}]))
    assert scan_repo(repo, allowlist=allow).unused_allowlist == ("a" * 64,)


@pytest.mark.parametrize("entry,key", [
    ({"fingerprint": "a" * 64}, "reason"),
    ({"fingerprint": "a" * 64, "reason": "  "}, "reason"),
    ({"fingerprint": "abc", "reason": "r"}, "fingerprint"),
    ({"fingerprint": "A" * 64, "reason": "r"}, "fingerprint"),
    ({"reason": "r"}, "fingerprint"),
    ({"fingerprint": "a" * 64, "reason": "r", "rule": "no-such-rule"}, "rule"),
    ({"fingerprint": "a" * 64, "reason": "r", "expires": "2030-01-01"}, "expires"),
])
def test_malformed_allowlist_names_entry_and_key(tmp_path, entry, key):
    good = {"fingerprint": "b" * 64, "reason": "fine"}
    path = tmp_path / "allow.toml"
    path.write_text(_allow_toml([good, entry]))
    with pytest.raises(AllowlistError) as info:
        Allowlist.load(path)
    assert (info.value.entry, info.value.key) == (2, key)
    assert f"entry #2: key '{key}'" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("text,needle", [
    ("[[allow]\nfingerprint = 1", "not valid TOML"),
    ("allowed = []", "unknown top-level key"),
    ("allow = 3", "array of tables"),
    (_allow_toml([{"fingerprint": "c" * 64, "reason": "x"}] * 2), "duplicate"),
])
def test_malformed_allowlist_file(text, needle):
    with pytest.raises(AllowlistError, match=needle):
        Allowlist.parse(text, "allow.toml")


def test_missing_allowlist_file(tmp_path):
    with pytest.raises(AllowlistError, match="cannot read"):
        Allowlist.load(tmp_path / "nope.toml")


def test_raw_secrets_never_printed(tree_scan, history_scan):
    raw = [m.group(1) for _, _, text in SAMPLES.values()
           for m in re.finditer(r"(?:gh[ps]_|AKIA|SG\.|npm_|xoxb-|sk_live_)([A-Za-z0-9]{16})", text)]
    assert len(raw) >= 6
    for result in (tree_scan, history_scan[0]):
        shown = "\n".join([str(result), repr(result), json.dumps(result.to_dict()),
                           *map(str, result.findings)])
        assert not [r for r in raw if r in shown]
        assert all(f.redacted.endswith("…***") and len(f.redacted) <= 8
                   for f in result.findings if f.rule != "tracked_env")


def test_fingerprint_is_sha256_of_rule_and_secret():
    token = "gh" + "p_" + rand(ALNUM, 36)
    (hit,) = scan_buffer(f'x = "{token}"'.encode(), "x.py")
    expected = hashlib.sha256(b"github-token:" + token.encode()).hexdigest()
    assert fingerprint(hit.rule, hit.secret) == expected and token not in repr(hit)


def test_binary_and_symlinked_files_are_skipped_and_recorded(tmp_path):
    token = ("np" + "m_" + rand(ALNUM, 36)).encode()
    repo = new_repo(tmp_path, {"img.bin": b"\x89PNG\0\0" + token, "ok.py": b"x = 1\n"})
    (repo / "link.py").symlink_to("ok.py")
    commit(repo, {"old.bin": b"\0" + token}, "binary in history, a symlink")
    remove(repo, "old.bin")
    result = scan_repo(repo, max_bytes=400)
    assert result.findings == ()
    assert {(s.path, s.reason) for s in result.skipped} == {
        ("img.bin", "binary"), ("old.bin", "binary"), ("link.py", "symlink")}
    assert result.files_scanned == 1


def test_not_a_git_repository(tmp_path):
    with pytest.raises(GitError, match="rev-parse"):
        scan_repo(tmp_path)
    with pytest.raises(GitError, match="NotADirectoryError"):
        scan_repo(new_repo(tmp_path / "r", {"a.py": "x = 1\n"}) / "a.py")


def test_cli_json_and_exit_code(tmp_path):
    token = "gl" + "pat-" + rand(ALNUM, 20)
    repo = new_repo(tmp_path / "r", {"ci.yml": f"token: {token}\n"})
    cmd = [sys.executable, "-m", "fixtures.secrets", str(repo)]
    out = subprocess.run([*cmd, "--json"], cwd=SUITE, capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert token not in out.stdout
    assert [f["rule"] for f in json.loads(out.stdout)["findings"]] == ["gitlab-pat"]
    (repo / "ci.yml").write_text("token: ${CI_TOKEN}\n")
    clean = subprocess.run([*cmd, "--no-history"], cwd=SUITE, capture_output=True, text=True)
    assert clean.returncode == 0 and "0 findings" in clean.stdout, clean.stdout
    (tmp_path / "plain").mkdir()
    broken = subprocess.run([*cmd[:-1], str(tmp_path / "plain")], cwd=SUITE,
                            capture_output=True, text=True)
    assert broken.returncode == 3, broken.stderr
    assert broken.stderr.startswith("secretscan: could not look: `git"), broken.stderr


_ANCHORS = ("akia", "asia", "aiza", "eyj", "gh", "glpat", "xox", "k_live", "sg.", "sk", "ac",
            "npm_", "pypi-", "private key", "@", "://", "hooks.slack", "passw", "pwd", "secret",
            "token", "credential", "key")


@settings(derandomize=True, max_examples=200, database=None, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126), max_size=2000))
def test_text_without_an_anchor_yields_nothing(text):
    assume(not any(a in text.lower() for a in _ANCHORS))
    assert scan_buffer(text.encode(), "any.yaml") == []


_FILLER = st.text(alphabet="abcdefghijlmnoqtuvwz \n=:;,.()", max_size=300)


@settings(derandomize=True, max_examples=200, database=None, deadline=None)
@given(_FILLER, st.text(alphabet=ALNUM, min_size=36, max_size=36), st.sampled_from("pousr"),
       _FILLER)
def test_token_in_noise_is_always_found(before, body, kind, after):
    assume(len(set(body)) >= 6 and not re.search(r"(.)\1{5}", body))
    assume(not any(w in body.lower() for w in ("xxxx", "your", "fake", "todo", "dummy",
                                               "example", "sample", "replace", "insert",
                                               "redacted", "lorem", "fixme", "foobar",
                                               "changeme", "notreal", "1234567", "0123456",
                                               "abcdefgh", "placeholder", "environ", "getenv",
                                               "test")))
    token = "gh" + kind + "_" + body
    hits = scan_buffer(f"{before} {token}\n{after}".encode(), "x.txt")
    assert [(h.rule, h.secret) for h in hits] == [("github-token", token.encode())]
