"""Selftests share one machine: tests that use the host's own ports (the local stack
in the default network namespace, the Docker stack's published 8000) run on one
xdist worker, one after another (`--dist loadgroup`); the fault matrix makes its
own network namespaces and spreads over the other workers."""

from __future__ import annotations

import pytest

from selftests.dockerswitch import skip_marked_if_off

_HOST_PORTS = ("selftests/contract/", "selftests/test_stack_faults.py", "selftests/test_docker_stack.py",
               "selftests/test_fault_matrix_docker.py", "selftests/test_swarm.py",
               "selftests/test_docker_readiness.py")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker turns the marker into a nodeid suffix
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_marked_if_off(items)  # VX11_DOCKER_TESTS=0: a quick run without Docker
    for item in items:
        if any(part in item.nodeid for part in _HOST_PORTS):
            item.add_marker(pytest.mark.xdist_group("host-ports"))
