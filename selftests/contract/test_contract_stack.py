"""The reference stack keeps every promise of CONTRACT.md, checked over HTTP (one test per promise)."""

from __future__ import annotations

import pytest

from selftests.contract import checks_api as api
from selftests.contract import checks_host as host
from selftests.contract import checks_windows as win
from selftests.contract.ctx import Ctx

pytestmark = pytest.mark.contract


def test_health_aggregates_dependencies(contract_ctx: Ctx) -> None:
    """Gateway /health is public and reports madre, redis, switch, spawner ok; each service names itself."""
    api.check_health(contract_ctx)


def test_health_reports_down_optional_service(contract_ctx: Ctx) -> None:
    """A frozen switch shows as down within short timeouts; the gateway stays ok."""
    api.check_health_sees_down_switch(contract_ctx)


def test_auth_401_json(contract_ctx: Ctx) -> None:
    """Missing or wrong token: 401 with a JSON body on every API route; health and UI stay public."""
    api.check_auth(contract_ctx)


def test_chat_body(contract_ctx: Ctx) -> None:
    """Chat: 200 with the five fields, not degraded with switch up, within the latency SLO."""
    api.check_chat(contract_ctx)


def test_chat_degraded_when_switch_down(contract_ctx: Ctx) -> None:
    """Chat with switch down: still 200, degraded true, fallback_source local_llm_degraded."""
    api.check_chat_degraded(contract_ctx)


def test_chat_bad_inputs_4xx(contract_ctx: Ctx) -> None:
    """Bad chat bodies: 4xx with a JSON error, never a 5xx."""
    api.check_bad_inputs(contract_ctx)


def test_window_open_fields_and_deadline(contract_ctx: Ctx) -> None:
    """Open: the six fields, state open, deadline_timestamp = opened_at + ttl_sec."""
    win.check_window_open(contract_ctx)


def test_window_expires_without_close(contract_ctx: Ctx) -> None:
    """TTL enforced: expired and off the open list within 1 s after the deadline; close then 409."""
    win.check_window_expiry(contract_ctx)


def test_window_allowlist_403(contract_ctx: Ctx) -> None:
    """Only allowlisted services may open a window: others get 403."""
    win.check_allowlist(contract_ctx)


def test_window_ttl_422(contract_ctx: Ctx) -> None:
    """ttl_sec outside integers 1..3600 is 422."""
    win.check_ttl_validation(contract_ctx)


def test_window_close_404_409(contract_ctx: Ctx) -> None:
    """Close: 200 with its fields; twice is 409; unknown is 404."""
    win.check_close(contract_ctx)


def test_window_get_unknown_404(contract_ctx: Ctx) -> None:
    """GET of an unknown window is 404."""
    win.check_get_unknown(contract_ctx)


def test_window_list_open_only(contract_ctx: Ctx) -> None:
    """The windows list holds open windows only."""
    win.check_list_open_only(contract_ctx)


def test_window_50_concurrent_opens(contract_ctx: Ctx) -> None:
    """50 concurrent opens all answered 200 and well-formed; none reset."""
    win.check_concurrent_opens(contract_ctx)


def test_flags_agree_and_off(contract_ctx: Ctx) -> None:
    """Flags: config file, service environments and the API agree; all off."""
    host.check_flags(contract_ctx)


def test_maintenance_keeps_rows(contract_ctx: Ctx) -> None:
    """Maintenance exits 0, writes db_map.json and a backup, leaves integrity and row counts unchanged."""
    host.check_maintenance(contract_ctx)


def test_operator_page_relative_base(contract_ctx: Ctx) -> None:
    """/operator/ serves the page with a relative API base: no absolute origin shipped."""
    api.check_operator_page(contract_ctx)
