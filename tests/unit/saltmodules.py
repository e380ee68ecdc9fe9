"""The formula's custom modules loaded as Salt's loader loads them: from their
file, outside sys.modules, with the dunders Salt packs into them; and their
public functions named as ``__salt__`` names them."""

import importlib.util
import inspect
import itertools
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
_SERIAL = itertools.count()


def load(relative, **dunders):
    """The module at ``relative`` (``_modules/x.py``), freshly executed, with ``dunders`` set."""
    name = "{}_under_test_{}".format(relative.replace("/", "_")[:-3], next(_SERIAL))
    spec = importlib.util.spec_from_file_location(name, REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, value in dunders.items():
        setattr(module, key, value)
    return module


def functions(module):
    """``{"<virtualname>.<function>": function}`` for the module's public functions."""
    return {
        f"{module.__virtualname__}.{name}": func
        for name, func in vars(module).items()
        if inspect.isfunction(func) and not name.startswith("_") and func.__module__ == module.__name__
    }
