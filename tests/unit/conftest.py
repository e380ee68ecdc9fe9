"""Fixtures for the render tests: `render(platform, pillar, sls=...)` renders
the formula with Salt for that platform's grains, memoized per run."""
import json

import pytest

from saltrender import Renderer

_RENDERERS = {}
_RENDERS = {}


def _render(platform, pillar=None, sls="glance"):
    key = (platform, sls, json.dumps(pillar or {}, sort_keys=True))
    if key not in _RENDERS:
        if platform not in _RENDERERS:
            _RENDERERS[platform] = Renderer(platform)
        try:
            _RENDERS[key] = _RENDERERS[platform].render(pillar, sls=sls)
        except Exception as error:  # cached too: the same input fails the same way
            _RENDERS[key] = error
    result = _RENDERS[key]
    if isinstance(result, Exception):
        raise result
    return result


@pytest.fixture(scope="session")
def render():
    return _render
