"""The secret-sample bench's corpus: published samples and our families, in realistic files.

Samples come from ``bench/secret_samples.b64`` (gitleaks' rule generators and
detect-secrets' plugin tests, see ``bench/make_secret_samples.py``), decoded at run
time, plus the families VX11 repositories are likely to hold (:func:`own_samples`), made
at run time from pieces and seeded random characters so no live-looking literal is
written here. Each sample goes into a file of its own (config, code, compose, notebook,
docs, keys, ``.env`` variants), so a scanner's verdict on a sample is whether it reports
that file.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).with_name("secret_samples.b64")
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Case:
    path: str
    source: str  # gitleaks, detect-secrets, vx11
    family: str
    rule: str
    positive: bool


def load_samples() -> list[dict[str, object]]:
    return json.loads(gzip.decompress(base64.b64decode(SAMPLES.read_text())))


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not re.search("(?i)test|fake|xxxx|your|dummy|example", s):
            return s


def _ed25519(rng: random.Random) -> str:
    body = base64.b64encode(b"openssh-key-v1\0" + rng.randbytes(380)).decode()
    lines = [body[i:i + 70] for i in range(0, len(body), 70)]
    kind = "OPENSSH PRIVATE" + " KEY"
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])


def own_samples(rng: random.Random) -> list[dict[str, object]]:
    """The issue's families, each a positive in a few syntaxes and a decoy or two."""
    r = lambda a, n: _r(rng, a, n)  # noqa: E731
    auth = base64.b64encode(f"ci-bot:{r(ALNUM, 20)}".encode()).decode()
    conn = ("DefaultEndpointsProtocol=https;AccountName=vx11" + r(HEX, 6) + ";AccountKey="
            + r(B64, 86) + "==;EndpointSuffix=core.windows.net")
    bearer = r(ALNUM, 40)
    rows = [
        ("openssh-ed25519", True, "docs/ops/deploy-key.md",
         "# Deploy key\n\nPaste this into the runner:\n\n```\n" + _ed25519(rng) + "\n```\n"),
        ("openssh-ed25519", True, "keys/id_ed25519", _ed25519(rng) + "\n"),
        ("openssh-ed25519", False, "docs/ops/keys.md", "```\n-----BEGIN OPENSSH PRIVATE "
         "KEY-----\n...your key here...\n-----END OPENSSH PRIVATE KEY-----\n```\n"),
        ("docker-config-auth", True, "deploy/docker/config.json",
         json.dumps({"auths": {"registry.vx11.internal:5000": {"auth": auth}}}, indent=2)),
        ("docker-config-auth", False, "deploy/docker/config.decoy.json",
         json.dumps({"auths": {"ghcr.io": {}}, "credsStore": "desktop"}, indent=2)),
        ("jdbc-password", True, "config/application.properties",
         "spring.datasource.url=jdbc:mysql://db:3306/vx11?user=vx11&password="
         + r(ALNUM, 14) + "&useSSL=true\n"),
        ("jdbc-password", True, "config/datasource.xml",
         '<property name="url" value="jdbc:sqlserver://db:1433;databaseName=vx11;user=sa;'
         "password=" + r(ALNUM, 12) + ';"/>\n'),
        ("jdbc-password", False, "config/application-prod.properties",
         "spring.datasource.url=jdbc:mysql://db:3306/vx11?user=vx11&password=${DB_PASSWORD}\n"),
        ("env-short-hex-password", True, "deploy/.env.production",
         "MODE=production\nDB_PASSWORD=" + r(HEX, 8) + "\n"),
        ("env-short-hex-password", True, "stack/.env.staging",
         "REDIS_PASSWORD=" + r(HEX, 12) + "\nLOG_LEVEL=info\n"),
        ("env-short-hex-password", False, "stack/.env.example", "REDIS_PASSWORD=\nLOG_LEVEL=\n"),
        ("azure-storage", True, "config/storage.yaml", f"storage:\n  connection_string: \"{conn}\"\n"),
        ("azure-storage", True, "src/blob.py", "ACCOUNT_KEY = '" + r(B64, 86) + "=='\n"),
        ("azure-storage", False, "config/storage.dev.yaml",
         "storage:\n  connection_string: \"UseDevelopmentStorage=true\"\n"),
        ("authorization-header", True, "docs/api/chat.md",
         "```http\nPOST /operator/api/chat HTTP/1.1\nAuthorization: Bearer " + bearer + "\n```\n"),
        ("authorization-header", True, "scripts/smoke.sh",
         f"curl -sf -u admin:{r(ALNUM, 16)} http://gateway:8000/health\n"),
        ("authorization-header", False, "scripts/smoke2.sh",
         'curl -sf -H "Authorization: Bearer $VX11_TOKEN" http://gateway:8000/health\n'),
        ("aws-key-id", True, "infra/terraform.tfvars",
         'access_key = "' + "AS" + "IA" + r(string.ascii_uppercase + "234567", 16) + '"\n'),
        ("aws-key-id", True, "docs/aws.md", "Use key id `" + "AB" + "IA"
         + r(string.ascii_uppercase + "234567", 16) + "` for the batch job.\n"),
        ("aws-key-id", False, "docs/aws-iam.md", "Role ids start with AROA, users with AIDA.\n"),
    ]
    return [{"source": "vx11", "family": fam, "rule": fam, "positive": pos, "text": text,
             "ident": "", "path": path} for fam, pos, path, text in rows]


# --- placing a sample in a file -----------------------------------------------------

def _ident_file(n: int, ident: str, secret: str) -> tuple[str, str]:
    """A generated secret after its identifier, in one of several file kinds."""
    name = re.sub(r"\W+", "_", ident).strip("_").lower() or "service"
    up = name.upper()
    kinds = [
        (f"config/{name}-{n}.yaml", f"# {name} settings\n{name}:\n  api_token: \"{secret}\"\n"),
        (f"src/{name}_{n}.py", f'"""Client for {name}."""\n\n{up}_TOKEN = "{secret}"\n'),
        (f"deploy/compose-{n}.yml", "services:\n  app:\n    image: app:1\n    environment:\n"
         f"      - {up}_TOKEN={secret}\n"),
        (f"notebooks/{name}-{n}.ipynb", _notebook(f'{name}_token = "{secret}"\n')),
        (f"src/{name}-{n}.js", f"const {name}Token = '{secret}';\nmodule.exports = {{}};\n"),
        (f"env/{n}/.env.local", f"{up}_TOKEN={secret}\n"),
        (f"config/{name}-{n}.json", json.dumps({f"{name}_token": secret}, indent=2) + "\n"),
        (f"src/{name}_{n}.go", f"package main\n\nvar {name}Token = \"{secret}\"\n"),
    ]
    return kinds[n % len(kinds)]


def _line_file(n: int, text: str) -> tuple[str, str]:
    """A published line (code, config or shell), as it would sit in a file."""
    kinds = [
        (f"docs/notes-{n}.md", f"# Notes\n\n```\n{text}\n```\n"),
        (f"scripts/run-{n}.sh", f"#!/bin/sh\nset -eu\n{text}\n"),
        (f"config/app-{n}.conf", f"# app\n{text}\n"),
        (f"notebooks/nb-{n}.ipynb", _notebook(text + "\n")),
        (f"src/mod_{n}.py", f"# module {n}\n{text}\n"),
        (f"config/values-{n}.yaml", f"# values\n{text}\n"),
    ]
    return kinds[n % len(kinds)]


def _notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
            "source": source.splitlines(keepends=True)}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1) + "\n"


def build(seed: int = 12) -> tuple[dict[str, str], list[Case]]:
    """Files to write (path -> text) and one :class:`Case` per file."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    cases: list[Case] = []
    for n, s in enumerate(load_samples() + own_samples(rng)):
        text, ident = str(s["text"]), str(s["ident"])
        if "path" in s:
            path, body = str(s["path"]), text
        elif ident:
            path, body = _ident_file(n, ident, text)
        else:
            path, body = _line_file(n, text)
        sub = "pos" if s["positive"] else "neg"
        path = f"{s['source']}/{sub}/{path}"
        files[path] = body
        cases.append(Case(path, str(s["source"]), str(s["family"]), str(s["rule"]),
                          bool(s["positive"])))
    return files, cases
