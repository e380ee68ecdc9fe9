"""The formula's map, built once per SLS render.

map.jinja runs this file in Salt's own process through the py renderer:

    salt['slsutil.renderer']('salt://glance/lib/map.py', default_renderer='py',
                             TPLROOT=tplroot, PILLAR=..., GRAINS=...)

run() returns {"map": the map} or {"error": one line naming the problem},
in this order: the OS family must be supported, glance:server and
glance:bootstrap must be mappings, no key may be unknown (pillar_keys.py),
then the map is built from parameters/ and the pillar with the values the
pillar implies (derive.py) and checked (validate.py). Those three files
hold the logic as plain functions, which the tests import without Salt;
this one loads them and the parameters from Salt's file cache. All of it in
one py renderer call per SLS: each call builds a loader of its own, and
every Jinja import would be compiled again for every SLS.

One apply renders this map for every SLS with the same pillar and grains, so
the result is kept for the life of the process (MEMO), keyed by those inputs
and by the stamp of every formula file it reads: a changed pillar or file
builds it again. Each caller gets its own copy.
"""
import copy
import importlib.util
import json
import os
import sys
import types

import yaml

# Given by the py renderer: the keyword arguments of slsutil.renderer, and
# Salt's own __salt__ and saltenv.
TPLROOT = "glance"
PILLAR = None
GRAINS = None
__salt__ = None
saltenv = "base"


def cached(relative):
    """The local path of a file of the formula, fetched into Salt's cache."""
    path = __salt__["cp.cache_file"](f"salt://{TPLROOT}/{relative}", saltenv)
    if not path:
        raise FileNotFoundError(f"salt://{TPLROOT}/{relative} is missing from the file server")
    return path


def parameters(name):
    with open(cached(f"parameters/{name}.yaml"), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def sibling(name):
    path = cached(f"lib/{name}.py")
    spec = importlib.util.spec_from_file_location(f"{TPLROOT}_formula_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The formula files the map is built from, relative to TPLROOT.
SOURCES = ("parameters/defaults.yaml", "parameters/schema.yaml", "parameters/releases.yaml",
           "lib/derive.py", "lib/pillar_keys.py", "lib/validate.py")
# Kept in sys.modules: the py renderer loads this file afresh for every call.
MEMO = sys.modules.setdefault("glance_formula_map_memo", types.ModuleType("glance_formula_map_memo"))
MEMO.__dict__.setdefault("built", {})


def stamp(path):
    info = os.stat(path)
    return path, info.st_mtime_ns, info.st_size


def run():
    grains = GRAINS or {}
    family_file = f"parameters/os_family/{grains.get('os_family')}.yaml"
    stamps = [stamp(cached(name)) for name in SOURCES]
    family_path = __salt__["cp.cache_file"](f"salt://{TPLROOT}/{family_file}", saltenv)
    key = json.dumps([TPLROOT, saltenv, PILLAR, grains, stamps, family_path and stamp(family_path)],
                     sort_keys=True, default=str)
    if key not in MEMO.built:
        MEMO.built[key] = build(grains)
    return copy.deepcopy(MEMO.built[key])


def build(grains):
    defaults = parameters("defaults")
    os_family = grains.get("os_family")
    if os_family not in defaults["supported_os_families"]:
        return {"error": f"glance: OS family {os_family} (grain os_family) is not supported; "
                         f"supported: {', '.join(defaults['supported_os_families'])}"}
    derive = sibling("derive")
    platform_map = derive.merged(defaults, parameters(f"os_family/{os_family}"))
    pillar = PILLAR or {}
    server = pillar.get("server", {})
    if not isinstance(server, dict):
        return {"error": f"glance:server must be a mapping, got: {server}"}
    bootstrap = pillar.get("bootstrap", {}) or {}
    if not isinstance(bootstrap, dict):
        return {"error": f"glance:bootstrap must be a mapping, got: {bootstrap}"}
    unknown = sibling("pillar_keys").first_unknown_key(parameters("schema"), pillar, platform_map)
    if unknown:
        return {"error": unknown}
    try:
        glance = derive.build(platform_map, pillar.get("lookup"), server, bootstrap, parameters("releases"), grains)
    except ValueError as error:
        return {"error": str(error)}
    problem = sibling("validate").problem(glance, server)
    return {"error": problem} if problem else {"map": glance}
