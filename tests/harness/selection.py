"""Which suite groups run on which platforms: all of .kitchen.yml's suites on
every platform the harness has a base image for, narrowed by the
environment variables SUITE and PLATFORM (space or comma separated).
Unknown or unrunnable names are errors, so a typo cannot run nothing."""
import os
import re

from . import images, kitchen


def _wanted(var):
    return [w for w in re.split(r"[\s,]+", os.environ.get(var, "")) if w]


def platforms_to_run(config=None):
    config = config or kitchen.load()
    declared = kitchen.platforms(config)
    runnable = [p for p in declared if p in images.PLATFORMS]
    chosen = _wanted("PLATFORM") or runnable
    for platform in chosen:
        if platform not in declared:
            raise ValueError(f"platform {platform!r} is not in .kitchen.yml ({declared})")
        if platform not in images.PLATFORMS:
            raise ValueError(f"platform {platform!r} cannot run here; the harness runs {runnable}")
    if not chosen:
        raise ValueError("no platform of .kitchen.yml has a base image here")
    return chosen


def scenarios(platform=None, config=None):
    """[(group, platform)] to run, for PLATFORM or every chosen platform."""
    config = config or kitchen.load()
    groups = kitchen.select(_wanted("SUITE"), config)
    platforms = [platform] if platform else platforms_to_run(config)
    return [(g, p) for p in platforms for g in groups]
