"""Single entrypoint (gate 6): only the public port is exposed, every internal port is
unreachable from outside the stack, and the gateway reaches madre inside it."""

from __future__ import annotations

import socket

import pytest

from fixtures.gatekit.expect import expect
from fixtures.gatekit.policy import not_applicable

pytestmark = [pytest.mark.gate]
GATE = "single_entrypoint"


def test_only_public_port_exposed(backend, profile, evidence):
    public = profile.public_service
    exposed = backend.exposures()
    evidence.attach("exposed ports", "\n".join(f"{e.address}:{e.port} ({e.service})" for e in exposed) or "none")
    extra = sorted({f"{e.address}:{e.port} ({e.service})" for e in exposed if e.port != public.port})
    expect(not extra, GATE, "stack", "exposed ports", f"only {public.port}", ", ".join(extra),
           fix="remove the extra 'ports:' entries (publish only the gateway)")
    if backend.kind != "host":  # docker or swarm: the engine knows every published port
        ports = {e.port for e in exposed}
        expect(ports == {public.port}, GATE, public.name, "published ports", {public.port}, ports or "none")


def _connects(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_internal_ports_unreachable(backend, profile):
    if backend.kind == "host":
        not_applicable("host backend: internal services listen on loopback by design; "
                    "exposure is judged from listeners (test_only_public_port_exposed)")
    for svc in profile.services.values():
        if not svc.public:
            expect(not _connects(svc.port), GATE, svc.name, f"127.0.0.1:{svc.port} from the host",
                   "refused", "connected", fix=f"do not publish port {svc.port}")


def test_gateway_reaches_madre(http, profile, evidence):
    # The flags route is answered by madre alone (no redis), so this measures the routing only.
    fact = http.get(profile.route("flags"))
    evidence.attach("routed call", fact.head())
    expect(fact.status == 200, GATE, profile.public_service.name, f"GET {profile.route('flags')} (routed to madre)",
           200, fact.status, evidence=fact.head())
