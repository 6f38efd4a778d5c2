"""Service health (gate 2): required services run and are healthy, every /health body
is as the contract writes it, the gateway's aggregate tells the truth about its
dependencies (ok only when every required one is ok), no required service restarts while
the gates run, and each keeps answering /health throughout the run (uptime, sampled by the
controller). An optional service that is down is a recorded warning, not a failure."""

from __future__ import annotations

import time
from functools import partial

import pytest

from fixtures.gatekit.expect import expect, expect_clean
from fixtures.gatekit.plugin import disrupted, stack_lock
from fixtures.gatekit.policy import not_checked, optional_down
from fixtures.probes.contract import aggregate_problems, health_problems
from fixtures.probes.health import health_beside
from fixtures.probes.waiting import WaitTimeout, wait_until
from fixtures.stack.uptime import uptime

pytestmark = [pytest.mark.gate]
GATE = "service_health"


def test_required_services_running(backend, profile, evidence):
    states = backend.states(refresh=True)
    evidence.topology({"services": [{"name": n, "port": s.port, "exposure": s.exposure, "policy": s.policy,
                                      "up": states[n].running} for n, s in profile.services.items()]})
    for name in profile.services:
        st = states[name]
        evidence.attach(f"state {name}", f"{st.status} health={st.health}")
        if (not st.running or st.health == "unhealthy") and optional_down(GATE, profile, name, st.status, evidence):
            continue
        if not profile.services[name].required:
            continue
        expect(st.running, GATE, name, "state", "running", st.status,
               evidence=partial(backend.logs, name, tail=20), fix=f"look at the {name} logs above and restart it")
        expect(st.health in (None, "healthy"), GATE, name, "healthcheck", "healthy", st.health,
               evidence=partial(backend.logs, name, tail=20))


def test_gateway_health_aggregate(http, profile, evidence):
    fact = http.get(profile.route("health"), token=False)
    evidence.attach("gateway /health", fact.head(600))
    gateway = profile.public_service.name
    expect(fact.status == 200, GATE, gateway, "GET /health status", 200, fact.status, evidence=fact.head())
    problems = aggregate_problems(fact.body, profile)
    expect_clean(problems, GATE, gateway, evidence=fact.head(),
           fix="aggregate each dependency as probed now; status ok only when every required one is ok")


def test_service_health_bodies(backend, profile, evidence):
    with stack_lock(profile):  # no optional service is paused by another worker meanwhile
        _health_bodies(backend, profile, evidence)


def _health_bodies(backend, profile, evidence):
    states = backend.states(refresh=True)
    for name, svc in profile.services.items():
        if not svc.health or svc.public:  # the gateway's own: the aggregate check (ok or degraded)
            continue
        if not states[name].running:
            st = states[name].status
            expect(optional_down(GATE, profile, name, st, evidence), GATE, name, "state", "running", st)
            continue
        seen = health_beside(backend, name, svc.port, svc.health)
        evidence.attach(f"{name} {svc.health}", seen.raw.output[-400:])
        if seen.error is not None and optional_down(GATE, profile, name, f"not answering ({seen.error})", evidence):
            continue  # running but not answering: a crash-looping optional service between two starts
        expect(seen.error is None, GATE, name, f"GET {svc.health}", "an answer", seen.error, evidence=seen.raw.tail(8))
        expect(seen.status == 200, GATE, name, f"GET {svc.health} status", 200, seen.status)
        problems = health_problems(seen.body, name)
        expect_clean(problems, GATE, name, evidence=seen.raw.tail(3))


@pytest.mark.disruptive
def test_gateway_reports_a_down_dependency(backend, http, profile, disruptable, evidence):
    """The aggregate must check, not assume: pause an optional service it lists as ok, watch it turn 'down'."""
    body = http.get(profile.route("health"), token=False).body
    deps = body.get("dependencies") if isinstance(body, dict) else None
    deps = deps if isinstance(deps, dict) else {}
    named = [s for s in disruptable if s in deps]  # the contract names switch
    if not named:
        not_checked(f"no optional service ({', '.join(disruptable) or 'none'}) is among the gateway's "
                    f"dependencies ({', '.join(deps or {}) or 'none'}): nothing to pause and watch")
    healthy = [s for s in named if deps.get(s) == "ok"]
    if not healthy:
        not_checked(f"{', '.join(named)} already {deps.get(named[0])!r} before any pause: pausing what is down "
                    "proves nothing")
    victim = healthy[0]
    with disrupted(backend, profile, [victim]):
        try:
            body = wait_until(lambda: http.get(profile.route("health"), token=False).body, timeout=10,
                              interval=0.5, what=f"dependencies.{victim} == 'down'",
                              accept=lambda b: isinstance(b, dict) and b.get("dependencies", {}).get(victim) != "ok")
            seen = body["dependencies"].get(victim)
        except WaitTimeout as exc:
            seen = f"still {exc.last!r}"[:200]
    evidence.attach(f"gateway with {victim} paused", str(seen))
    expect(seen == "down", GATE, profile.public_service.name, f"dependencies.{victim} while {victim} is paused",
           "'down'", seen, fix="make /health probe each dependency with a short timeout")


@pytest.mark.last  # the samples span the whole run
def test_required_services_answer_throughout(profile, uptime_samples, evidence):
    bound = float(profile.policy["uptime_gap_sec"])
    seen = [uptime(uptime_samples, name) for name in profile.required_services]
    seen = [u for u in seen if u.samples]
    for u in seen:
        evidence.metric(f"uptime_pct_{u.service}", u.percent)
    if seen:
        evidence.metric("uptime_pct", min(u.percent for u in seen))
        evidence.metric("uptime_longest_gap_s", max(u.longest_gap_s for u in seen))
    evidence.attach("uptime", "\n".join(f"{u.service}: {u.up}/{u.samples} samples up ({u.percent}%), longest gap "
                                         f"{u.longest_gap_s}s, longest pause of the sampler itself "
                                         f"{u.sampler_pause_s}s" for u in seen) or "no samples")
    expect(bool(seen), GATE, "stack", "uptime samples", "at least one", "none (the run was too short to sample?)")
    for u in seen:
        when = time.strftime("%H:%M:%S", time.gmtime(u.gap_from)) if u.gap_from else "?"
        expect(u.longest_gap_s <= bound, GATE, u.service, "answering /health throughout the run",
               f"no silence over {bound:g}s", f"{u.longest_gap_s}s without an answer from {when} UTC",
               fix=f"find why {u.service} stopped answering (its logs at that time)")


@pytest.mark.last  # restarts are counted from the run's start to its end, not to the middle
def test_required_restarts_not_growing(backend, profile, session_info):
    states = backend.states(refresh=True, with_restarts=True)
    for name, svc in profile.services.items():
        if not svc.required:
            continue
        before, now = session_info.restarts.get(name), states[name].restarts
        if before is not None and now is not None:
            expect(now <= before, GATE, name, "restart count during the run", f"<= {before}", now,
                   evidence=partial(backend.logs, name, tail=20))
        expect(states[name].instance == session_info.instances.get(name), GATE, name,
               "instance during the run", session_info.instances.get(name), states[name].instance,
               evidence=partial(backend.logs, name, tail=20), fix=f"{name} restarted while the gates ran: see its logs")
