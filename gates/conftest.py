"""Gates need a stack: reach or start it once, before any worker exists."""

from __future__ import annotations

import pytest

from fixtures.stack import finish_session, prepare_session


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    prepare_session(session)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    finish_session(session)
