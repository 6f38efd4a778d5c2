"""Image boot (FASE 1): every service was started and imports its modules: no
ModuleNotFoundError and no Traceback in its logs."""

from __future__ import annotations

import re

import pytest

from fixtures.backends.facts import BackendError
from fixtures.errors import CouldNotLook
from fixtures.gatekit.expect import expect
from fixtures.gatekit.policy import optional_down
from fixtures.profile import PROFILE_KEY

pytestmark = [pytest.mark.gate]
GATE = "image_boot"
WHOLE_LOG = 10_000_000  # lines: the whole log since the service started (the contract: all of it)
_BAD = re.compile(r"ModuleNotFoundError|Traceback \(most recent call last\)")  # the contract names these two


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "service" in metafunc.fixturenames:
        metafunc.parametrize("service", list(metafunc.config.stash[PROFILE_KEY].services))


@pytest.fixture
def service_log(backend, service):
    """(state, its whole log); a log that cannot be read is "could not look"."""
    state = backend.states()[service]
    if not state.present:
        return state, ""
    try:
        return state, backend.logs(service, tail=WHOLE_LOG)
    except BackendError as exc:
        raise CouldNotLook(f"vx11: {GATE}: {exc}") from None


def test_service_booted_clean(service_log, service, profile, evidence):
    state, logs = service_log
    if not state.present and optional_down(GATE, profile, service, state.status, evidence):
        return
    expect(state.present, GATE, service, "started", "a container or process", state.status,
           fix="start it, or remove it from the profile if the stack has none")
    evidence.attach(f"log: {service}", logs[-4000:])
    bad = [line for line in logs.splitlines() if _BAD.search(line)]
    bad.sort(key=lambda line: "Traceback" in line)  # the missing module tells more than the traceback header
    expect(not bad, GATE, service, "log", "no ModuleNotFoundError/Traceback", bad[0][:160] if bad else "",
           evidence="\n".join(logs.splitlines()[-15:]), fix="rebuild the image with every module it imports")
