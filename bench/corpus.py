"""Planted corpus for the secret-scanner bench: fake secrets and decoys made at run time.

No live-looking secret is written in this file: every value is assembled from pieces
and seeded random characters when :func:`build` runs, so the repository that holds
this file stays clean under its own scanner.

:func:`build` returns the files to write in the working tree, the files to commit and
then delete (history), and one :class:`Plant` per planted line: a secret (which a
scanner should report) or a decoy (which it should not).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Plant:
    path: str
    line: int
    family: str
    decoy: bool
    where: str  # "tree" or "history"


@dataclass
class Corpus:
    tree: dict[str, str] = field(default_factory=dict)
    history: dict[str, str] = field(default_factory=dict)  # committed, then deleted
    plants: list[Plant] = field(default_factory=list)

    def secrets(self, where: str) -> list[Plant]:
        return [p for p in self.plants if not p.decoy and p.where == where]

    def decoys(self) -> list[Plant]:
        return [p for p in self.plants if p.decoy]


class _Maker:
    """Fake secrets of each family, random but shaped like the real thing."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def r(self, alphabet: str, n: int) -> str:
        """Random text; every character class of the alphabet present, no filler words."""
        classes = [c for c in (string.digits, string.ascii_lowercase, string.ascii_uppercase)
                   if set(c) & set(alphabet)]
        while True:
            s = "".join(self.rng.choice(alphabet) for _ in range(n))
            low = s.lower()
            if any(w in low for w in ("xxxx", "your", "fake", "todo", "test", "dummy")):
                continue
            if n < 16 or all(set(c) & set(s) for c in classes):
                return s

    def values(self) -> dict[str, str]:
        r = self.r
        header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
        claims = json.dumps({"sub": r(ALNUM, 12), "iat": self.rng.randrange(10**9, 2 * 10**9)})
        payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=")
        pem = "\n".join(r(B64, 64) for _ in range(12))
        kind = "RSA PRIVATE" + " KEY"
        return {
            "aws-access-key-id": "AK" + "IA" + r(UPPER_DIGITS, 16),
            "github-token": "gh" + self.rng.choice("pousr") + "_" + r(ALNUM, 36),
            "github-fine-grained-pat": "github" + "_pat_" + r(ALNUM, 22) + "_" + r(ALNUM, 59),
            "gitlab-pat": "gl" + "pat-" + r(ALNUM, 20),
            "slack-token": "xo" + "xb-" + r(string.digits, 12) + "-" + r(string.digits, 13)
                           + "-" + r(ALNUM, 24),
            "slack-webhook": "https://hooks.slack" + ".com/services/T" + r(UPPER_DIGITS, 10)
                             + "/B" + r(UPPER_DIGITS, 10) + "/" + r(ALNUM, 24),
            "stripe-live-key": self.rng.choice("sr") + "k_" + "live_" + r(ALNUM, 24),
            "google-api-key": "AI" + "za" + r(URLSAFE, 35),
            "sendgrid-api-key": "SG" + "." + r(URLSAFE, 22) + "." + r(URLSAFE, 43),
            "npm-token": "np" + "m_" + r(ALNUM, 36),
            "pypi-token": "pypi-" + "AgEIcHl" + "waS5vcmc" + r(URLSAFE, 70),
            "twilio-api-key": "S" + "K" + r(HEX, 32),
            "twilio-account-sid": "A" + "C" + r(HEX, 32),
            "jwt": f"{header.decode()}.{payload.decode()}.{r(URLSAFE, 43)}",
            "private-key": f"-----BEGIN {kind}-----\n{pem}\n-----END {kind}-----",
            "url-credentials": "postgres://" + "svc_app:" + r(ALNUM, 20) + "@db.internal:5432/app",
            "generic-secret": r(ALNUM, 4) + r(ALNUM + "-_.!", 24),
        }


# Line templates per family; {v} is the value. Several syntaxes per family.
_PY = {
    "generic-secret": 'DB_PASSWORD = "{v}"',
    "url-credentials": 'DATABASE_URL = "{v}"',
    "private-key": 'SIGNING_KEY = """{v}"""',
    "slack-webhook": 'ALERT_HOOK = "{v}"',
}
_YAML = {"generic-secret": "  api_token: {v}", "url-credentials": "  dsn: {v}",
         "slack-webhook": "  webhook: {v}"}


def _py_line(family: str, value: str) -> str:
    name = family.upper().replace("-", "_")
    return _PY.get(family, f'{name} = "{value}"').format(v=value)


def _yaml_line(family: str, value: str) -> str:
    return _YAML.get(family, f"  {family.replace('-', '_')}: \"{value}\"").format(v=value)


def _json_line(family: str, value: str) -> str:
    key = "client_secret" if family == "generic-secret" else family
    return f'  "{key}": {json.dumps(value)},'


def _decoys(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, line) pairs that must not be reported."""
    h40 = "".join(rng.choice(HEX) for _ in range(40))
    h64 = "".join(rng.choice(HEX) for _ in range(64))
    uuid = "-".join("".join(rng.choice(HEX) for _ in range(n)) for n in (8, 4, 4, 4, 12))
    integrity = base64.b64encode(rng.randbytes(64)).decode()
    return [
        ("aws-example", 'AWS_ACCESS_KEY_ID = "' + "AKIA" + "IOSFODNN7" + "EXAMPLE" + '"'),
        ("aws-example", 'AWS_SECRET_ACCESS_KEY = "' + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY"
         + "EXAMPLE" + "KEY" + '"'),
        ("placeholder", 'GITHUB_TOKEN = "' + "ghp_" + "x" * 36 + '"'),
        ("placeholder", 'api_key = "your_api_key_goes_here_1234"'),
        ("placeholder", 'SECRET_KEY = "dummy-secret-key-for-local-dev-0001"'),
        ("placeholder", 'STRIPE_KEY = "' + "sk_" + "live_" + "<your-stripe-key>" + '"'),
        ("placeholder", 'auth_token = "changeme-changeme-changeme-1"'),
        ("placeholder", 'SLACK_TOKEN = "' + "xo" + "xb-" + "your-bot-token-here" + '"'),
        ("placeholder", 'DATABASE_URL = "postgres://user:password@localhost:5432/app"'),
        ("placeholder", 'BROKER_URL = "amqp://' + "guest:" + '${RABBIT_PASSWORD}@mq:5672//"'),
        ("env-lookup", 'password = os.environ["DB_PASSWORD"]'),
        ("env-lookup", 'token = os.getenv("API_TOKEN", "")'),
        ("env-lookup", 'SECRET_KEY = env("DJANGO_SECRET_KEY")'),
        ("env-lookup", "password = ${DB_PASSWORD_FROM_VAULT}"),
        ("env-lookup", 'api_key = "$SERVICE_API_KEY_VALUE"'),
        ("lockfile", f'    {{file = "pkg-1.0.tar.gz", hash = "sha256:{h64}"}},'),
        ("lockfile", f'      "integrity": "sha512-{integrity}",'),
        ("uuid", f'request_token = "{uuid}"'),
        ("uuid", f'secret_id = "{uuid}"'),
        ("commit-id", f'rev = "{h40}"'),
        ("commit-id", f"# token handling fixed in {h40}"),
        ("commit-id", f'"sha": "{h40}",'),
        ("comment", "# the password is read from the vault at start-up, never stored here"),
        ("comment", "# TODO: rotate the api token every 90 days (see the runbook)"),
        ("code", "def login(user: str, password: str) -> bool:"),
        ("code", 'password_field = "password_confirmation_input"'),
        ("code", 'token_url = "https://auth.internal/oauth2/token/refresh"'),
        ("code", 'TOKEN_PATTERN = r"[A-Za-z0-9]{32}(?:_[a-z]+)?"'),
        ("code", "if password == expected_password_value_from_db:"),
    ]


def build(seed: int = 1, copies: int = 3) -> Corpus:
    """The planted corpus: ``copies`` of each secret family per syntax, plus decoys."""
    rng = random.Random(seed)
    mk = _Maker(rng)
    corpus = Corpus()
    for n in range(copies):
        _add_secrets(corpus, mk, f"planted/app{n}", "tree")
    _add_secrets(corpus, mk, "planted/old", "history")
    _add_env(corpus, mk)
    for n in range(copies):
        decoys = _decoys(rng)
        for path, lines in ((f"planted/decoys{n}.py", [d for d in decoys if d[0] != "lockfile"]),
                            (f"planted/deps{n}/poetry.lock",
                             [d for d in decoys if d[0] == "lockfile"])):
            corpus.tree[path] = "\n".join(text for _, text in lines) + "\n"
            corpus.plants += [Plant(path, i, kind, True, "tree")
                              for i, (kind, _) in enumerate(lines, start=1)]
    return corpus


def _add_secrets(corpus: Corpus, mk: _Maker, stem: str, where: str) -> None:
    files = corpus.tree if where == "tree" else corpus.history
    for suffix, render, head, tail in ((".py", _py_line, [], []),
                                       (".yaml", _yaml_line, ["service:"], []),
                                       (".json", _json_line, ["{"], ['  "end": true', "}"])):
        lines, plants = list(head), []
        for family, value in mk.values().items():
            text = render(family, value)
            plants.append((len(lines) + 1, family))
            lines += text.split("\n")
            if family == "aws-access-key-id":  # the secret goes on the next line
                plants.append((len(lines) + 1, "aws-secret-access-key"))
                lines.append(render("aws-secret-access-key", mk.r(B64, 40)))
        path = stem + suffix
        files[path] = "\n".join(lines + tail) + "\n"
        corpus.plants += [Plant(path, line, fam, False, where) for line, fam in plants]


def _add_env(corpus: Corpus, mk: _Maker) -> None:
    """A tracked .env (tree) and one that was committed then deleted (history)."""
    for path, files, where in (("planted/.env", corpus.tree, "tree"),
                               ("planted/deploy/.env.production", corpus.history, "history")):
        files[path] = "MODE=production\nSESSION_SECRET=" + mk.r(ALNUM, 32) + "\n"
        corpus.plants.append(Plant(path, 0, "tracked_env", False, where))
        corpus.plants.append(Plant(path, 2, "generic-secret", False, where))
