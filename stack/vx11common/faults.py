"""Fault switches: deliberate, named defects a stack can be started with.

``VX11_FAULTS=name,name`` is read once at start. Each service keeps a tiny
``faults.py`` that asks ``FaultSwitches(service).on(name)``, so the healthy code
path reads clean. The table below is the single list of known switches; the
local launcher refuses unknown names. stack/README.md documents each one.
"""

from __future__ import annotations

import os

# name -> (service that implements it, promise it breaks)
KNOWN: dict[str, tuple[str, str]] = {
    "chat_5xx": ("tentaculo_link", "chat never 5xx"),
    "bad_input_5xx": ("tentaculo_link", "bad chat input gives 4xx JSON"),
    "no_auth": ("tentaculo_link", "token required (401)"),
    "degraded_503": ("tentaculo_link", "degraded fallback still answers 200"),
    "absolute_origin_ui": ("tentaculo_link", "operator UI relative API base"),
    "runtime_origin_ui": ("tentaculo_link", "operator page requests only its own origin (browser)"),
    "script_error_ui": ("tentaculo_link", "operator page logs no console error (browser)"),
    "reply_hidden_ui": ("tentaculo_link", "operator page shows the reply (browser)"),
    "health_blind": ("tentaculo_link", "gateway health aggregates real dependency state"),
    "health_body_wrong": ("all", "health body names its service"),
    "ttl_not_enforced": ("madre", "window TTL enforced within 1 s"),
    "wrong_deadline": ("madre", "deadline = opened_at + ttl_sec"),
    "allowlist_open": ("madre", "allowlist refuses other services (403)"),
    "double_close_accepted": ("madre", "closing a closed window is 409"),
    "flag_on_in_api": ("madre", "flags off and the three sources agree"),
    "maintenance_fails": ("madre", "maintenance exits 0"),
    "maintenance_loses_rows": ("madre", "maintenance keeps row counts"),
    "maintenance_stale_map": ("madre", "maintenance regenerates the DB map"),
    "slow_chat": ("madre", "chat latency within the SLO"),
    "concurrency_resets": ("madre", "50 concurrent opens all answered"),
    "token_prefix_match": ("tentaculo_link", "the token is compared whole and exactly"),
    "message_limit_low": ("tentaculo_link", "a message of up to 16 KiB is accepted"),
    "aggregate_always_degraded": ("tentaculo_link", "aggregate status is ok when every dependency is ok"),
    "ttl_max_refused": ("madre", "ttl_sec 3600 (the top of 1..3600) is accepted"),
    "window_bad_body_500": ("madre", "odd window bodies get a 4xx, never a 5xx"),
    "list_includes_closed": ("madre", "the window list holds open windows only"),
    "db_map_wrong_counts": ("madre", "the DB map's row counts are the database's"),
    "early_traceback": ("madre", "no Traceback anywhere in the log since start"),
    "madre_health_stall": ("madre", "required services answer /health throughout the run"),
    "backups_not_rotated": ("madre", "maintenance keeps the newest N backups only"),
}


def parse(value: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in (value or "").split(",") if p.strip())


def unknown(names: frozenset[str]) -> list[str]:
    return sorted(n for n in names if n not in KNOWN)


class FaultSwitches:
    """The switches of one service, read from VX11_FAULTS when created."""

    def __init__(self, service: str, value: str | None = None) -> None:
        self.service = service
        self.active = parse(os.environ.get("VX11_FAULTS") if value is None else value)

    def on(self, name: str) -> bool:
        owner = KNOWN.get(name, ("?", ""))[0]
        if owner not in (self.service, "all"):  # a typo in code, not in config
            raise KeyError(f"fault {name!r} is not a {self.service} fault")
        return name in self.active
