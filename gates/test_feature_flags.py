"""Feature flags (gate 7): playwright, deepseek_runtime and smoke_tests are off in
production, and the three places they live agree: the tracked config file, each
service's environment, and the madre flags API."""

from __future__ import annotations

import pytest

from fixtures.gatekit import expect
from fixtures.probes.flags import as_bool, read_flag_sources

pytestmark = [pytest.mark.gate]
GATE = "feature_flags"


@pytest.fixture(scope="module")
def sources(profile, backend, http):
    return read_flag_sources(profile, backend, http)


def test_sources_readable(sources):
    expect(sources.config_error is None, GATE, str(sources.config_path), "config file", "present and valid TOML",
           sources.config_error)
    expect(sources.api.status == 200 and sources.api_flags is not None, GATE, sources.api.url, "body.flags",
           "200 with an object", sources.api.status, evidence=sources.api.head())


def test_flags_off_everywhere(sources, evidence):
    values = sources.values
    evidence.metric("flags_total", len(values))
    evidence.metric("flags_off", sum(all(as_bool(x) is False for x in v.values()) for v in values.values()))
    evidence.attach("flag sources", "\n".join(f"{n}: {v}" for n, v in values.items()))
    for name, seen in values.items():
        for where, value in seen.items():
            expect(as_bool(value) is False, GATE, name, where, "off (false)", repr(value),
                   fix=f"set {name} to false in {where.split(' ', 1)[-1]}")


def test_sources_agree(sources):
    for name, seen in sources.values.items():
        values = {where: as_bool(v) for where, v in seen.items()}
        expect(len(set(values.values())) == 1, GATE, name, "agreement of config, env and API", "one value",
               values)
