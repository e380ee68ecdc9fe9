"""Render the formula with Salt's own machinery, in-process, for any
platform's grains and any pillar, without root and without touching the host.

A Renderer holds one salt.client.Caller whose grains are overridden from the
minion configuration, so every platform is rendered exactly as a minion of
that platform would render it.
"""
import configparser
import importlib.util
import json
import tempfile
from pathlib import Path

import jinja2.sandbox
import salt.client
import salt.config
import salt.utils.templates
import yaml

REPO = Path(__file__).resolve().parents[2]

PLATFORMS = {
    "debian-12": {"os_family": "Debian", "os": "Debian", "osfinger": "Debian-12",
                  "osmajorrelease": 12, "oscodename": "bookworm"},
    "debian-13": {"os_family": "Debian", "os": "Debian", "osfinger": "Debian-13",
                  "osmajorrelease": 13, "oscodename": "trixie"},
    "ubuntu-22.04": {"os_family": "Debian", "os": "Ubuntu", "osfinger": "Ubuntu-22.04",
                     "osmajorrelease": 22, "oscodename": "jammy"},
    "ubuntu-24.04": {"os_family": "Debian", "os": "Ubuntu", "osfinger": "Ubuntu-24.04",
                     "osmajorrelease": 24, "oscodename": "noble"},
    "rocky-9": {"os_family": "RedHat", "os": "Rocky", "osfinger": "Rocky Linux-9",
                "osmajorrelease": 9, "oscodename": "Blue Onyx"},
    "centos-stream-9": {"os_family": "RedHat", "os": "CentOS Stream",
                        "osfinger": "CentOS Stream-9", "osmajorrelease": 9,
                        "oscodename": "Stream"},
    # A family the formula does not know, for the validation tests.
    "arch": {"os_family": "Arch", "os": "Arch", "osfinger": "Arch-rolling",
             "osmajorrelease": 0, "oscodename": "rolling"},
}


# What a minion's file root needs from the repository.
FILE_ROOT_ENTRIES = ("glance", "_modules", "_states")


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory, keyed by name and checked against the
    source's checksum by Jinja itself: output is unchanged, only compiling the
    same map.jinja again for every SLS and every render is saved."""

    def __init__(self):
        self._store = {}

    def load_bytecode(self, bucket):
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


_BYTECODE_CACHE = _MemoryBytecodeCache()


# Code compiled from a template's source (Salt renders every SLS file and
# file template with from_string, which the bytecode cache never sees), keyed
# by the source and every environment setting the compiler reads.
_COMPILED = {}


def _code_of(function):
    """What the compiler sees of a callable: Salt gives each environment its
    own bound finalizer, the same function every time."""
    function = getattr(function, "__func__", function)
    return getattr(function, "__code__", function)


class _CachingSandboxedEnvironment(jinja2.sandbox.SandboxedEnvironment):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("bytecode_cache", _BYTECODE_CACHE)
        super().__init__(*args, **kwargs)

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str):
            return super().compile(source, name, filename, raw, defer_init)
        key = (source, name, filename, defer_init, self.block_start_string, self.block_end_string,
               self.variable_start_string, self.variable_end_string, self.comment_start_string,
               self.comment_end_string, self.line_statement_prefix, self.line_comment_prefix,
               self.trim_blocks, self.lstrip_blocks, self.newline_sequence, self.keep_trailing_newline,
               tuple(sorted(self.extensions)), self.optimized, _code_of(self.finalize),
               getattr(self.finalize, "jinja_pass_arg", None), self.autoescape, self.is_async)
        code = _COMPILED.get(key)
        if code is None:
            code = _COMPILED[key] = super().compile(source, name, filename, raw, defer_init)
        return code


# Salt builds a fresh environment for every render; give those a shared cache.
salt.utils.templates.jinja2.sandbox.SandboxedEnvironment = _CachingSandboxedEnvironment


class RenderError(Exception):
    """The formula refused to render; str() is Salt's error text."""


class Rendered:
    """The highstate data of one render, with helpers to read the files."""

    def __init__(self, renderer, states):
        self._renderer = renderer
        self.states = states

    def bind(self, renderer):
        """Render templates with this live renderer (same platform)."""
        self._renderer = renderer

    def state(self, state_id):
        return self.states[state_id]

    @property
    def minion_id(self):
        """The id of the minion that rendered (grains.id in templates)."""
        return self._renderer.caller.opts["id"]

    def function(self, state_id):
        """(module, function, {arg: value}) of a state."""
        data = self.states[state_id]
        for module, body in data.items():
            if module.startswith("__") or module in ("order",):
                continue
            args = {}
            function = None
            for item in body:
                if isinstance(item, dict):
                    args.update(item)
                else:
                    function = item
            return module, function, args
        raise KeyError(state_id)

    def managed_files(self):
        """{path: (state_id, args)} of every file.managed state."""
        files = {}
        for state_id in self.states:
            module, function, args = self.function(state_id)
            if module == "file" and function == "managed":
                files[args["name"]] = (state_id, args)
        return files

    def text(self, path):
        """The content a file.managed state writes."""
        _, args = self.managed_files()[path]
        return self._renderer.render_template(args["source"], args.get("context", {}))

    def ini(self, path):
        parser = configparser.ConfigParser(interpolation=None, strict=True,
                                           default_section="__no_default__")
        parser.optionxform = str
        parser.read_string(self.text(path))
        return parser


class Renderer:
    def __init__(self, platform):
        self.platform = platform
        self._tmp = tempfile.TemporaryDirectory(prefix="glance-render-")
        root = Path(self._tmp.name)
        (root / "pillar").mkdir()
        # The file root holds only what a minion gets (the state tree and the
        # custom modules), not the repository's virtualenv or caches.
        files = root / "file_root"
        files.mkdir()
        for name in FILE_ROOT_ENTRIES:
            if (REPO / name).exists():
                (files / name).symlink_to(REPO / name)
        config = {
            "file_client": "local",
            "file_roots": {"base": [str(files)]},
            "pillar_roots": {"base": [str(root / "pillar")]},
            "root_dir": str(root),
            "cachedir": str(root / "cache"),
            "log_file": str(root / "minion.log"),
            "enable_fqdns_grains": False,
            "grains": PLATFORMS[platform],
        }
        (root / "minion").write_text(yaml.safe_dump(config))
        opts = salt.config.minion_config(str(root / "minion"))
        self.caller = salt.client.Caller(mopts=opts)
        # What templates ask Keystone as a file is written: a fixed answer
        # here, and the question kept for the tests.
        self.endpoint_lookups = []
        self.caller.sminion.functions["openstack_sdk.endpoint_id"] = self._endpoint_id

    ENDPOINT_ID = "0123456789abcdef0123456789abcdef"

    def _endpoint_id(self, **lookup):
        self.endpoint_lookups.append(lookup)
        return self.ENDPOINT_ID

    def render(self, pillar=None, sls="glance"):
        states = self.caller.cmd("state.show_sls", sls, pillar=pillar or {})
        if isinstance(states, list):
            raise RenderError("\n".join(str(error) for error in states))
        return Rendered(self, states)

    def render_template(self, source, context):
        path = REPO / source.replace("salt://", "", 1)
        return self.caller.cmd("file.apply_template_on_contents",
                               contents=path.read_text(), template="jinja",
                               context=context, defaults=None, saltenv="base")


def load_formula_module(relative_path):
    """A plain-Python file of the formula (glance/lib/*.py, glance/files/*.py)
    as a module, imported without Salt."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# slsutil.merge(strategy='recurse') as the map is built: derive.py's own.
merged = load_formula_module("glance/lib/derive.py").merged


def load_pillar(name):
    """A scenario pillar from tests/pillar/ (or the repository's pillar.example)."""
    path = REPO / "pillar.example" if name == "pillar.example" else REPO / "tests" / "pillar" / f"{name}.sls"
    return yaml.safe_load(path.read_text()) or {}


def with_version(pillar, version):
    """A copy of a scenario pillar pinned to another release."""
    pillar = json.loads(json.dumps(pillar))
    pillar.setdefault("glance", {}).setdefault("server", {})["version"] = version
    return pillar
