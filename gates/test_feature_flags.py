"""Feature flags (gate 7): playwright, deepseek_runtime and smoke_tests are off in
production, and the three places they live agree: the tracked config file, each
service's environment, and the madre flags API."""

from __future__ import annotations

import tomllib

import pytest

from fixtures.gatekit.expect import expect

pytestmark = [pytest.mark.gate]
GATE = "feature_flags"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _as_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


@pytest.fixture(scope="module")
def sources(profile, backend, http):
    """name -> {source: value} for every flag, from the three places."""
    cfg = profile.flags
    path = profile.root / cfg["config_file"]
    if not path.is_file():
        pytest.fail(f"{GATE}: {path}: config file: expected present, found missing", pytrace=False)
    table = tomllib.loads(path.read_text()).get(cfg["config_table"], {})
    api = http.get(profile.route("flags"))
    expect(api.status == 200 and isinstance((api.body or {}).get("flags"), dict), GATE,
           f"GET {profile.route('flags')}", "body.flags", "200 with an object", api.status, evidence=api.head())
    states = backend.states()
    envs = {n: backend.env(n) for n, svc in profile.services.items() if svc.health and states[n].running}
    out: dict[str, dict[str, object]] = {}
    for name in cfg["names"]:
        out[name] = {f"config {cfg['config_file']}": table.get(name), "api": api.body["flags"].get(name)}
        for svc_name, env in envs.items():
            out[name][f"env {svc_name}"] = env.get(cfg["env_prefix"] + name.upper())
    return out


def test_flags_off_everywhere(sources, evidence):
    total = sum(len(v) for v in sources.values())
    off = sum(_as_bool(val) is False for v in sources.values() for val in v.values())
    evidence.metric("flags_total", len(sources))
    evidence.metric("flags_off", sum(all(_as_bool(x) is False for x in v.values()) for v in sources.values()))
    evidence.attach("flag sources", "\n".join(f"{n}: {v}" for n, v in sources.items()))
    for name, seen in sources.items():
        for where, value in seen.items():
            expect(_as_bool(value) is False, GATE, name, where, "off (false)", repr(value),
                   fix=f"set {name} to false in {where.split(' ', 1)[-1]}")
    assert off == total


def test_sources_agree(sources):
    for name, seen in sources.items():
        values = {where: _as_bool(v) for where, v in seen.items()}
        expect(len(set(values.values())) == 1, GATE, name, "agreement of config, env and API", "one value",
               values)
