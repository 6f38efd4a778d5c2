"""Image boot (FASE 1): every service was started and imports its modules: no
ModuleNotFoundError and no Traceback in its logs."""

from __future__ import annotations

import re

import pytest

from fixtures.expect import expect
from fixtures.stack import PROFILE_KEY

pytestmark = [pytest.mark.gate]
GATE = "image_boot"
_BAD = re.compile(r"ModuleNotFoundError|ImportError|Traceback \(most recent call last\)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "service" in metafunc.fixturenames:
        metafunc.parametrize("service", list(metafunc.config.stash[PROFILE_KEY].services))


def test_service_booted_clean(backend, service, evidence):
    state = backend.states()[service]
    expect(state.present, GATE, service, "started", "a container or process", state.status,
           fix="start it, or remove it from the profile if the stack has none")
    logs = backend.logs(service, tail=500)
    evidence.attach(f"log: {service}", logs[-4000:])
    bad = [line for line in logs.splitlines() if _BAD.search(line)]
    bad.sort(key=lambda line: "Traceback" in line)  # the missing module tells more than the traceback header
    expect(not bad, GATE, service, "log", "no ModuleNotFoundError/Traceback", bad[0][:160] if bad else "",
           evidence="\n".join(logs.splitlines()[-15:]), fix="rebuild the image with every module it imports")
