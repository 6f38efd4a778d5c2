"""Wires the suite's plugins in; the fixtures and hooks live in fixtures/."""

pytest_plugins = [
    "fixtures.stack.plugin",
    "fixtures.gatekit.plugin",
    "fixtures.evidence.plugin",
    "fixtures.verdict.plugin",
    "fixtures.verdict.waivers",
]
