"""The fault matrix: every fault switch of the reference stack breaks a contract check.

For each switch the local stack is restarted with only that fault (and a fresh
data dir), and the contract check for the promise it breaks must raise
AssertionError. Afterwards the stack is put back as it was found: restarted
healthy with the same root and data dir, or stopped if none was running.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Iterator

import pytest

from selftests.contract import checks_api as api
from selftests.contract import checks_host as host
from selftests.contract import checks_windows as win
from selftests.contract.conftest import run_stack_local
from selftests.contract.ctx import REPO, Ctx

pytestmark = [pytest.mark.faults, pytest.mark.slow]

Check = Callable[[Ctx], None]
BREAKS: dict[str, Check] = {
    "chat_5xx": api.check_chat,
    "bad_input_5xx": api.check_bad_inputs,
    "no_auth": api.check_auth,
    "degraded_503": api.check_chat_degraded,
    "absolute_origin_ui": api.check_operator_page,
    "health_blind": api.check_health_sees_down_switch,
    "health_body_wrong": api.check_health,
    "slow_chat": api.check_chat,
    "ttl_not_enforced": win.check_window_expiry,
    "wrong_deadline": win.check_window_open,
    "allowlist_open": win.check_allowlist,
    "double_close_accepted": win.check_close,
    "concurrency_resets": win.check_concurrent_opens,
    "flag_on_in_api": host.check_flags,
    "maintenance_fails": host.check_maintenance,
    "maintenance_loses_rows": host.check_maintenance,
    "maintenance_stale_map": host.check_maintenance,
}


def _known_faults() -> set[str]:
    path = REPO / "stack" / "vx11common" / "faults.py"
    spec = importlib.util.spec_from_file_location("_vx11_fault_table", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.KNOWN)


def _restart(*args: str) -> None:
    done = run_stack_local("restart", *args)
    assert done.returncode == 0, f"stack-local restart {' '.join(args)} failed ({done.returncode}):\n" \
                                 f"{done.stdout[-1500:]}{done.stderr[-1500:]}"


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Ctx]]:
    """Restart the local stack with one fault; put the original stack back at the end."""
    if not os.environ.get("VX11_TOKEN"):
        pytest.fail("faults: VX11_TOKEN is not set: export a token for the local stack", pytrace=False)
    ctx = Ctx.from_env()
    state_file = ctx.run_dir / "state.json"
    before = json.loads(state_file.read_text()) if ctx.local_state() else None

    def start(fault: str) -> Ctx:
        _restart("--faults", fault, "--data-dir", str(tmp_path_factory.mktemp(f"data-{fault}")))
        return Ctx.from_env()

    yield start
    if before is None:
        run_stack_local("stop")
    else:
        _restart("--root", before["root"], "--data-dir", before["data_dir"])


def test_every_fault_switch_is_in_the_matrix() -> None:
    """The matrix covers exactly the switches the stack knows; those only a browser sees (no HTTP
    contract check can) are covered by selftests/test_operator_ui.py, and those added with the
    release gates' fuller checks are shown failing their gate in selftests/test_fault_matrix.py."""
    from selftests.test_fault_matrix import SWITCHES
    from selftests.test_operator_ui import BROWSER_ONLY

    gate_only = _known_faults() - set(BREAKS) - set(BROWSER_ONLY)
    assert gate_only <= set(SWITCHES), f"switches proven nowhere: {sorted(gate_only - set(SWITCHES))}"
    assert not set(BREAKS) & set(BROWSER_ONLY)


@pytest.mark.parametrize("fault", list(BREAKS))
def test_fault_breaks_its_promise(fault: str, fault_stack: Callable[[str], Ctx]) -> None:
    """With the fault on, its contract check fails with an AssertionError that says what it saw."""
    ctx = fault_stack(fault)
    check = BREAKS[fault]
    with pytest.raises(AssertionError) as info:
        check(ctx)
    message = str(info.value)
    assert message, f"{fault}: {check.__name__} failed without a message"
    print(f"{fault}: {check.__name__}: {message.splitlines()[0][:200]}")
