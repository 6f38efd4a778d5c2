"""Build ``bench/secret_samples.b64``: published secret-scanner test samples, as data.

Reads two public repositories' test samples (a local git mirror of each, read with
``git show``; nothing is fetched here) and writes them, gzip + base64 encoded, so the
project's tree never holds a live-looking literal:

- gitleaks: each rule generator's true positives (``tps``) and false positives
  (``fps``) in ``cmd/generate/config/rules/*.go``. Literal samples are kept as they are;
  generated ones (``secrets.NewSecret(regex)``) are drawn here from the regex, with a
  fixed seed, so the bench is the same on every run.
- detect-secrets: the ``pytest.mark.parametrize`` lines of ``tests/plugins/*_test.py``,
  with the flag the test expects (a list of lines only: all expected to be flagged).

Each sample: ``{"source", "family", "rule", "positive", "text", "ident"}``; ``ident``
(gitleaks' sample identifier) names the variable the bench places the secret in.
Only the bench's maintainers run this, when refreshing the samples:
``python -m bench.make_secret_samples GITLEAKS_GIT_DIR DETECT_SECRETS_GIT_DIR``.
"""

from __future__ import annotations

import ast
import base64
import gzip
import json
import random
import re
import subprocess
import sys
from pathlib import Path

from bench.regen import RegexGen

OUT = Path(__file__).with_name("secret_samples.b64")
_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<num>\d+)
  | (?P<dots>\.\.\.)
  | (?P<op>[-+(){}\[\],:=!<>*&%/|])
""", re.X | re.S)
_SIZED = {"utils.Numeric": "[0-9]{%s}", "utils.Hex": "[a-f0-9]{%s}",
          "utils.AlphaNumeric": "[a-z0-9]{%s}", "utils.AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
          "utils.AlphaNumericExtended": "[a-z0-9=_\\-]{%s}",
          "utils.AlphaNumericExtendedLong": "[a-z0-9\\/=_\\+\\-]{%s}"}


class Unsupported(Exception):
    pass


class _Sample(str):
    """A generated secret that gitleaks places after an identifier (``ident``)."""

    ident: str = ""


def _tokens(src: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise Unsupported(src[pos:pos + 20])
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup or "", m.group()))
    return out


def _go_string(kind: str, text: str) -> str:
    if kind == "raw":
        return text[1:-1]
    return json.loads(text) if "\\x" not in text else ast.literal_eval(text)


class _Parser:
    """A small evaluator for the Go expressions the rule files build samples with."""

    def __init__(self, toks: list[tuple[str, str]], gen: RegexGen, env: dict[str, list[str]]):
        self.toks, self.i, self.gen, self.env = toks, 0, gen, env

    def peek(self) -> str:
        return self.toks[self.i][1] if self.i < len(self.toks) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        tok = self.toks[self.i]
        if want is not None and tok[1] != want:
            raise Unsupported(f"expected {want}, found {tok[1]}")
        self.i += 1
        return tok

    def expr(self) -> object:
        value = self.atom()
        while self.peek() == "+":
            self.take()
            right = self.atom()
            if not isinstance(value, str) or not isinstance(right, str):
                raise Unsupported("+ on a list")
            value = value + right
        return value

    def args(self) -> list[object]:
        self.take("(")
        out: list[object] = []
        while self.peek() != ")":
            out.append(self.expr())
            if self.peek() == "...":
                self.take()
            if self.peek() == ",":
                self.take()
        self.take(")")
        return out

    def atom(self) -> object:
        kind, text = self.take()
        if kind in ("raw", "str"):
            return _go_string(kind, text)
        if text == "[" and self.peek() == "]":
            self.take("]")
            self.take("string")
            return self.items()
        if kind == "name" and self.peek() == "(":
            return self.call(text, self.args())
        if kind == "name" and text in self.env:
            return self.env[text]
        raise Unsupported(text)

    def items(self) -> list[str]:
        self.take("{")
        out: list[str] = []
        while self.peek() != "}":
            start = self.i
            try:
                value = self.expr()
                out += value if isinstance(value, list) else [value]  # type: ignore[list-item]
            except (Unsupported, IndexError):
                self.i = start
                self.skip_item()
            if self.peek() == ",":
                self.take()
        self.take("}")
        return out

    def skip_item(self) -> None:
        depth = 0
        while True:
            t = self.peek()
            if depth == 0 and t in (",", "}"):
                return
            depth += t in "({[" and t != ""
            depth -= t in ")}]" and t != ""
            self.take()

    def call(self, name: str, args: list[object]) -> object:
        if name in ("utils.GenerateSampleSecrets", "utils.GenerateSampleSecret"):
            sample = _Sample(str(args[1]))
            sample.ident = str(args[0])
            return [sample] if name.endswith("s") else sample
        if name in ("secrets.NewSecret", "newPlausibleSecret"):
            return self.gen.generate(str(args[0]))
        if name in _SIZED:
            return _SIZED[name] % args[0]
        if name == "utils.Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name == "fmt.Sprintf":
            fmt, rest = str(args[0]), [str(a) for a in args[1:]]
            if fmt.count("%s") != len(rest) or "%" in fmt.replace("%s", ""):
                raise Unsupported("Sprintf format")
            parts = fmt.split("%s")
            return parts[0] + "".join(a + b for a, b in zip(rest, parts[1:], strict=True))
        if name == "append":
            out: list[str] = []
            for a in args:
                out += a if isinstance(a, list) else [a]  # type: ignore[list-item]
            return out
        raise Unsupported(name)


_FUNC = re.compile(r"^func (\w+)\(\)", re.M)
_STMT = re.compile(r"^\s*(tps|fps)\s*:?=\s*", re.M)


def gitleaks_samples(git_dir: Path, rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    names = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "--name-only", "HEAD",
                            "cmd/generate/config/rules/"], capture_output=True, text=True,
                           check=True).stdout.split()
    gen = RegexGen(rng)
    for name in sorted(n for n in names if n.endswith(".go") and not n.endswith("_test.go")):
        src = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{name}"],
                             capture_output=True, text=True, check=True).stdout
        family = Path(name).stem
        bodies = _FUNC.split(src)[1:]
        for func, body in zip(bodies[::2], bodies[1::2], strict=True):
            rule = re.search(r'RuleID:\s*"([^"]+)"', body)
            out += _rule_samples(body, family, rule.group(1) if rule else func, gen)
    return out


def _rule_samples(body: str, family: str, rule: str, gen: RegexGen) -> list[dict[str, object]]:
    env: dict[str, list[str]] = {"tps": [], "fps": []}
    for m in _STMT.finditer(body):
        try:
            parser = _Parser(_tokens(body[m.end():]), gen, env)
            value = parser.expr()
        except (Unsupported, IndexError, ValueError, SyntaxError, KeyError):
            continue
        env[m.group(1)] = value if isinstance(value, list) else [str(value)]
    return [{"source": "gitleaks", "family": family, "rule": rule, "positive": kind == "tps",
             "text": str(s), "ident": getattr(s, "ident", "")}
            for kind in ("tps", "fps") for s in env[kind] if str(s).strip()]


def detect_secrets_samples(git_dir: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    names = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "--name-only", "HEAD",
                            "tests/plugins/"], capture_output=True, text=True,
                           check=True).stdout.split()
    for name in sorted(n for n in names if n.endswith("_test.py") and "base" not in n):
        src = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{name}"],
                             capture_output=True, text=True, check=True).stdout
        family = Path(name).stem.removesuffix("_test")
        for text, positive in _parametrized(ast.parse(src)):
            out.append({"source": "detect-secrets", "family": family, "rule": family,
                        "positive": positive, "text": text, "ident": ""})
    return out


def _parametrized(tree: ast.AST) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if not (isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize"):
                continue
            try:
                names = ast.literal_eval(dec.args[0])
                values = ast.literal_eval(dec.args[1])
            except (ValueError, IndexError, SyntaxError):
                continue
            names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
            out += _rows(names, values, node.name)
    return out


def _rows(names: list[str], values: list[object], test: str) -> list[tuple[str, bool]]:
    text_at = next((i for i, n in enumerate(names) if n in ("line", "payload", "token",
                                                             "secret", "file_content")), None)
    flag_at = next((i for i, n in enumerate(names) if n in ("should_flag", "expected_result",
                                                             "is_valid", "should_match")), None)
    if text_at is None or not test.startswith("test_analyze"):
        return []
    rows = []
    for row in values:
        cells = row if isinstance(row, tuple) else (row,)
        if len(cells) != len(names) or not isinstance(cells[text_at], str):
            continue
        flag = cells[flag_at] if flag_at is not None else True
        if isinstance(flag, bool):
            rows.append((cells[text_at], flag))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 4
    rng = random.Random(12)
    samples = gitleaks_samples(Path(args[0]), rng) + detect_secrets_samples(Path(args[1]))
    blob = gzip.compress(json.dumps(samples, sort_keys=True).encode(), mtime=0)
    text = base64.b64encode(blob).decode()
    OUT.write_text("\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n")
    pos = sum(1 for s in samples if s["positive"])
    print(f"{len(samples)} samples ({pos} positive) -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
