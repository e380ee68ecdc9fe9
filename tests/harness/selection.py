"""Which suite groups run on which platforms: all of .kitchen.yml's suites on
every platform the harness has a base image for, and the newcomer check
(`make deploy` on a bare host; not a Kitchen suite), narrowed by the
environment variables SUITE and PLATFORM (space or comma separated; SUITE
takes `newcomer` as well as the suites' names). Unknown or unrunnable names
are errors, so a typo cannot run nothing."""
import os
import re

from . import images, kitchen

NEWCOMER = "newcomer"


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


def not_converged_here(config=None):
    """Platforms of .kitchen.yml the harness has no base image for (Ubuntu,
    Rocky: their archives are not reachable here); `make kitchen` runs them.
    Reported with every converge run, so none is dropped unsaid."""
    config = config or kitchen.load()
    return [p for p in kitchen.platforms(config) if p not in images.PLATFORMS]


def runs_newcomer():
    """True when SUITE is empty or names the newcomer check."""
    wanted = _wanted("SUITE")
    return not wanted or NEWCOMER in wanted


def scenarios(platform=None, config=None):
    """[(group, platform)] to run, for PLATFORM or every chosen platform."""
    config = config or kitchen.load()
    wanted = _wanted("SUITE")
    suites = [w for w in wanted if w != NEWCOMER]
    if wanted and not suites:
        return []
    groups = kitchen.select(suites, config)
    platforms = [platform] if platform else platforms_to_run(config)
    return [(g, p) for p in platforms for g in groups]
