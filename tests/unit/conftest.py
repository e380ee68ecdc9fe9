"""Fixtures for the render tests: `render(platform, pillar, sls=...)` renders
the formula with Salt for that platform's grains, memoized per run."""
import json
import logging

import pytest

from saltrender import Renderer

# Salt keeps some minion state process-wide, so two Callers with different
# grains cannot live side by side: one Caller at a time, rebuilt when the
# platform changes (tests are sorted by platform to keep that rare).
_CURRENT = {}
# Salt's log handlers outlive the streams pytest gives them; without this,
# logging prints every render error again as "--- Logging error ---".
logging.raiseExceptions = False
_RENDERS = {}


def _renderer(platform):
    if _CURRENT.get("platform") != platform:
        _CURRENT.clear()
        _CURRENT.update(platform=platform, renderer=Renderer(platform))
    return _CURRENT["renderer"]


def _render(platform, pillar=None, sls="glance"):
    key = (platform, sls, json.dumps(pillar or {}, sort_keys=True))
    if key not in _RENDERS:
        try:
            _RENDERS[key] = _renderer(platform).render(pillar, sls=sls)
        except Exception as error:  # cached too: the same input fails the same way
            _RENDERS[key] = error
    result = _RENDERS[key]
    if isinstance(result, Exception):
        raise result
    result.bind(_renderer(platform))
    return result


@pytest.fixture(scope="session")
def render():
    return _render


def pytest_collection_modifyitems(items):
    def platform_of(item):
        params = getattr(getattr(item, "callspec", None), "params", {})
        return str(params.get("platform", ""))
    items.sort(key=platform_of)
