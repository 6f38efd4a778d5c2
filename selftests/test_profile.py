"""Profiles: the default loads; every bad value is a usage error naming its key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.profile.load import DEFAULT_PROFILE, ProfileError, expand, load_profile
from selftests.gaterun import REPO


def test_default_profile_loads():
    p = load_profile()
    assert p.public_service.name == "tentaculo_link"
    assert p.services["switch"].policy == "optional" and p.services["redis"].required
    assert p.url("window_get", window_id="w1").endswith("/madre/power/window/w1")
    assert p.root == (REPO / "stack").resolve()


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_PROFILE.read_text()
    assert old in text, old
    out = tmp_path / "p.toml"
    out.write_text(text.replace(old, new, 1).replace('root = "../stack"', f'root = "{REPO / "stack"}"'))
    return out


@pytest.mark.parametrize(("old", "new", "key"), [
    ('launcher = "local"', 'launcher = "kubernetes"', "stack.launcher"),
    ('exposure = "internal"', 'exposure = "private"', "services.madre.exposure"),
    ("port = 8001", 'port = "8001"', "services.madre.port"),
    ("port = 8001", "port = 70000", "services.madre.port"),
    ("port = 8001", "port = 8000", "services.*.port"),
    ('exposure = "internal"', 'exposure = "public"', "services.*.exposure"),
    ('policy = "optional"', 'policy = "maybe"', "services.switch.policy"),
    ('chat = "/operator/api/chat"', 'chat = "operator/api/chat"', "routes.chat"),
    ('window_get = "/madre/power/window/{window_id}"', 'window_get = "/madre/power/window"', "routes.window_get"),
    ("chat_p95_ms = 1500", "chat_p95_ms = -1", "slo.chat_p95_ms"),
    ("chat_requests = 10", "chat_requests = true", "slo.chat_requests"),
    ('service = "madre"\ncontainer_path', 'service = "nobody"\ncontainer_path', "database.service"),
    ('base_url = "http://127.0.0.1:8000"', 'base_url = "ftp://x"', "stack.base_url"),
    ('[token]\nenv = "VX11_TOKEN"', '[token]\nenv = 3', "token.env"),
])
def test_bad_value_names_the_key(tmp_path, old, new, key):
    with pytest.raises(ProfileError, match=re.escape(f"'{key}'")):
        load_profile(_variant(tmp_path, old, new))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ProfileError, match="no such file"):
        load_profile(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[stack\nname=")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad)


def test_bad_profile_is_a_usage_error_not_a_traceback(tmp_path):
    bad = _variant(tmp_path, 'launcher = "local"', 'launcher = "nomad"')
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gate", f"--vx11-profile={bad}", "-p",
                           "no:cacheprovider", "--no-evidence"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "stack.launcher" in done.stderr and "Traceback" not in done.stderr


def test_expand_uses_service_env():
    assert expand("${VX11_DATA_DIR:-data}/vx11.db", {}) == "data/vx11.db"
    assert expand("${VX11_DATA_DIR:-data}/vx11.db", {"VX11_DATA_DIR": "/srv"}) == "/srv/vx11.db"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("allow_disruptive = true", "allow_disruptve = true",
     "key 'policy.allow_disruptve': unknown key (did you mean 'allow_disruptive'?)"),
    ("[slo]", "[slos]", "key 'slos': unknown table (did you mean 'slo'?)"),
    ("chat_requests = 10", "chat_request = 10", "(did you mean 'chat_requests'?)"),
    ('port = 8001', 'port = 8001\nhealth_path = "/h"', "key 'services.madre.health_path': unknown key"),
])
def test_an_unknown_key_is_refused_and_names_the_nearest(tmp_path, old, new, message):
    with pytest.raises(ProfileError) as info:
        load_profile(_variant(tmp_path, old, new))
    assert message in str(info.value)


@pytest.mark.parametrize(("old", "new", "key", "why"), [
    ('names = ["playwright", "deepseek_runtime", "smoke_tests"]', 'names = ["playwright", "smoke_tests"]',
     "flags.names", "must include the contract's flags"),
    ("ttl_sec = 2", "ttl_sec = 0", "windows.ttl_sec", "1..3600"),
    ("ttl_sec = 2", "ttl_sec = 4000", "windows.ttl_sec", "1..3600"),
    ("expiry_grace_sec = 1.0", "expiry_grace_sec = 5", "windows.expiry_grace_sec", "within 1 s"),
    ("concurrent_opens = 50", "concurrent_opens = 10", "windows.concurrent_opens", "at least 50"),
    ("history = true", "history = false", "secrets.history", "must be true"),
    ("allow_disruptive = true", "allow_disruptive = true\nuptime_gap_sec = 30", "policy.uptime_gap_sec", "0.25..2"),
    ("allow_disruptive = true", "allow_disruptive = true\nmax_waiver_days = 365", "policy.max_waiver_days", "1..90"),
])
def test_the_contract_can_only_be_made_stricter(tmp_path, old, new, key, why):
    with pytest.raises(ProfileError) as info:
        load_profile(_variant(tmp_path, old, new))
    assert f"'{key}'" in str(info.value) and why in str(info.value)


def test_stricter_values_and_documented_defaults_load(tmp_path):
    p = load_profile(_variant(tmp_path, "concurrent_opens = 50", "concurrent_opens = 80"))
    assert p.windows["concurrent_opens"] == 80
    text = DEFAULT_PROFILE.read_text().replace('root = "../stack"', f'root = "{REPO / "stack"}"')
    lean = tmp_path / "lean.toml"  # the optional tables left out: every key read has its default
    lean.write_text(text.split("[slo]")[0].split("[windows]")[0])
    p = load_profile(lean)
    assert p.slo["fuzz_examples"] == 60 and p.windows["concurrent_opens"] == 50 and p.policy["uptime_gap_sec"] == 2.0
    assert p.allow_disruptive is False


def test_path_options_with_a_space_keep_the_rootdir(tmp_path):
    """`pytest --vx11-profile /elsewhere/vx11.toml` (a space, as users type it) finds the suite:
    the venv's start hook joins the path options before pytest places its rootdir."""
    from fixtures.startup import is_pytest, join_path_options
    prof = tmp_path / "ops dir" / "vx11.toml"
    prof.parent.mkdir()
    prof.write_text((REPO / "profiles" / "vx11.toml").read_text()
                    .replace('root = "../stack"', f'root = "{REPO / "stack"}"'))
    for cmd in ([sys.executable, "-m", "pytest"], [str(Path(sys.executable).parent / "pytest")]):
        done = subprocess.run([*cmd, "-m", "gate", "--vx11-profile", str(prof), "--co", "-q"],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "tests collected" in done.stdout, done.stdout[-800:] + done.stderr[-800:]
        assert "rootdir" not in done.stderr
    assert join_path_options(["-m", "gate", "--waivers", "w.toml", "--evidence-dir", "-x", "--", "--waivers", "a"]) \
        == ["-m", "gate", "--waivers=w.toml", "--evidence-dir", "-x", "--", "--waivers", "a"]
    assert is_pytest(["python", "-m", "pytest", "-q"]) and is_pytest(["python3", "/v/bin/pytest"])
    assert not is_pytest(["python", "-c", "pass"]) and not is_pytest(["python", "-m", "madre.maintenance"])
