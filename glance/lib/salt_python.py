"""Which Python libraries the Python that runs Salt lacks.

Rendered in Salt's own process through the ``py`` renderer
(``slsutil.renderer(..., default_renderer='py', LIBRARIES=...)``), so it
answers for the interpreter that will load the formula's states, on the
very first run and without any custom module synced. LIBRARIES maps a name
to ``{module, pip, pkg, since_salt}`` (glance/parameters/defaults.yaml,
``salt_deps:libraries``).
"""
import importlib.util
import sys


def salt_major():
    try:
        import salt.version

        return salt.version.__saltstack_version__.info[0]
    except ImportError:  # outside Salt, in unit tests
        return None


def python_kind():
    """bundled (Salt's onedir), virtualenv, or system."""
    if getattr(sys, "frozen", False) or getattr(sys, "RELENV", None):
        return "bundled"
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        return "virtualenv"
    return "system"


def importable(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def status(libraries, major):
    """{name: present, missing or unneeded (this Salt release has what the
    library brings, see since_salt)} for each of LIBRARIES."""
    result = {}
    for name, spec in libraries.items():
        if major is not None and major < spec.get("since_salt", 0):
            result[name] = "unneeded"
        else:
            result[name] = "present" if importable(spec["module"]) else "missing"
    return result


def run():
    # LIBRARIES is set by the caller (see the module docstring).
    return {
        "python": sys.executable,
        "kind": python_kind(),
        "status": status(LIBRARIES, salt_major()),  # noqa: F821
    }
