"""Wires the suite's plugins in; the fixtures and hooks live in fixtures/."""

pytest_plugins = [
    "fixtures.stack",
    "fixtures.gatefixtures",
    "fixtures.evidence",
    "fixtures.verdict",
    "fixtures.waivers",
]
