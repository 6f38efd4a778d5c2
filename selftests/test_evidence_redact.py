"""Tokens with quotes, backslashes and non-ASCII characters never reach the evidence or the
terminal, in any form: as is, repr- or JSON-escaped, HTML/XML-escaped, URL-encoded or base64.

The forms are computed here, independently of fixtures.evidence.redact, and every file of
the run folder is searched for each, after decoding what the folder encodes itself (the
report's base64 blocks, the attestation's payload)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parent.parent
PLUGINS = 'pytest_plugins = ["fixtures.evidence.plugin", "fixtures.verdict.plugin", "fixtures.verdict.waivers"]\n'
TOKENS = [
    "q\"uo'te\\back\\slash-ünï-∂-42",
    "plain'single\\n-not-a-newline-€",
    "url+/=?&%#-b64-\"mix\"-Ωmega",
]
GATE = r'''
"""Leaky: every way a token can slip into output."""
import base64, json, os
from urllib.parse import quote, quote_plus

def test_leaks(evidence):
    token = os.environ["VX11_TOKEN"]
    evidence.attach("log: headers", "x-vx11-token: " + token)
    evidence.attach("repr", repr({"token": token}) + " " + ascii(token) + " " + repr(token.encode()))
    evidence.attach("json", json.dumps({"token": token}) + json.dumps({"token": token}, ensure_ascii=False)
                    + json.dumps(json.dumps({"token": token})))
    evidence.attach("url", "http://gw/?t=" + quote(token, safe="") + "&u=" + quote_plus(token))
    evidence.attach("basic", "Authorization: Basic " + base64.b64encode(("user:" + token).encode()).decode())
    evidence.attach("b64-json", base64.b64encode(json.dumps({"k": token}).encode()).decode())
    evidence.baseline("secrets", {"dsn": "redis://:" + token + "@h", "nested": [{"t": token}]})
    print("stdout:", repr(token), json.dumps(token))
    assert token == "something else", f"leaky: header: value: expected redacted, found {token!r}"
'''


def forms(token: str) -> set[str]:
    """What the test looks for: the token and its escaped and encoded forms (computed here)."""
    escaped = {token, repr(token)[1:-1], ascii(token)[1:-1], repr(token.encode())[2:-1],
               json.dumps(token)[1:-1], json.dumps(token, ensure_ascii=False)[1:-1],
               json.dumps(json.dumps(token))[3:-3]}
    found = escaped | {html.escape(e) for e in escaped} | {html.escape(e, quote=False) for e in escaped}
    found |= {quote(token, safe=""), quote_plus(token), quote(token)}
    for prefix in ("", "u", "us", "user:"):  # base64 of the token at each alignment, inside a longer text
        enc = base64.b64encode((prefix + token).encode()).decode()
        found.add(enc[len(prefix) * 4 // 3 + 4:-4])
    return {f for f in found if len(f) >= 8}


def decoded(run: Path) -> dict[str, str]:
    """Every file's text, plus the texts the folder holds encoded: report blocks and the attestation."""
    texts = {p.relative_to(run).as_posix(): p.read_bytes().decode("utf-8", errors="replace")
             for p in run.rglob("*") if p.is_file()}
    for n, b64 in enumerate(re.findall(r"base64,([A-Za-z0-9+/=]+)", texts.get("report.html", ""))):
        texts[f"report.html block {n}"] = base64.b64decode(b64).decode("utf-8", errors="replace")
    blob = re.search(r'data-jsonblob="([^"]*)"', texts.get("report.html", ""))
    if blob:
        texts["report.html data"] = html.unescape(blob.group(1))
    if "attestation.intoto.json" in texts:
        payload = json.loads(texts["attestation.intoto.json"])["payload"]
        texts["attestation payload"] = base64.b64decode(payload).decode()
    return texts


@pytest.mark.parametrize("token", TOKENS, ids=["quotes-backslash-nonascii", "single-quote-escape-euro", "url-b64"])
def test_an_odd_token_appears_in_no_form_anywhere(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                  token: str) -> None:
    monkeypatch.setenv("VX11_TOKEN", token)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(pytester.path / ".config"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest(PLUGINS)
    pytester.makepyfile(test_leaky=GATE)
    result = pytester.runpytest_subprocess("-rA", "-vv")
    assert result.ret == 1
    (run,) = (pytester.path / "reports").glob("*/")
    texts = decoded(run)
    assert {"report.html", "junit.xml", "verdict.json", "baseline.json", "logs/headers.txt"} <= set(texts)
    assert len([k for k in texts if k.startswith("report.html block")]) >= 6  # the attached blocks were decoded
    texts["terminal"] = result.stdout.str() + result.stderr.str()
    leaks = sorted({(name, form) for name, text in texts.items() for form in forms(token) if form in text})
    assert leaks == []
    assert "***" in texts["logs/headers.txt"] and "***" in texts["terminal"]
    assert re.search(r"leaky: header: value: expected redacted, found (\\?['\"])\*\*\*\1", texts["verdict.json"])
