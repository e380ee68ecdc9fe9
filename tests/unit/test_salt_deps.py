"""The Python libraries the formula's states need in Salt's own Python
(glance.salt_deps): a no-op when importable, installed in the same run when
missing, a failure naming the library and the install command when the
lookup switch forbids installing, and required by every state that needs
them. Which module stands for a library is map data, so the tests point it
at a module that exists (json) or one that cannot (a name with no module).
"""
import importlib.util
import re
import sys

import pytest

from saltrender import REPO, load_pillar

PRESENT = "json"
ABSENT = "glance_formula_no_such_module"


def lookup(**modules):
    """glance:lookup pointing each library at MODULE."""
    return {"salt_deps": {"libraries": {name: {"module": module} for name, module in modules.items()}}}


def with_lookup(pillar, extra):
    pillar = dict(pillar)
    pillar["glance"] = dict(pillar.get("glance", {}), lookup=extra)
    return pillar


def test_importable_library_is_a_no_op(render):
    rendered = render("debian-12", with_lookup(load_pillar("single"), lookup(openstacksdk=PRESENT)),
                      sls="glance.salt_deps.openstacksdk")
    module, function, args = rendered.function("glance-salt-deps-openstacksdk-present")
    assert (module, function) == ("test", "nop")
    assert args["name"] == "openstacksdk is importable by the Python that runs Salt"


def test_missing_library_is_installed_with_salts_pip_and_modules_reloaded(render):
    rendered = render("debian-12", with_lookup(load_pillar("single"), lookup(openstacksdk=ABSENT)),
                      sls="glance.salt_deps.openstacksdk")
    module, function, args = rendered.function("glance-salt-deps-openstacksdk-present")
    # The render tests run Salt from a virtualenv: its own pip, no bin_env.
    assert (module, function) == ("pip", "installed")
    assert (args["name"], args["reload_modules"]) == ("openstacksdk==4.22.0", True)


def test_install_switch_off_fails_naming_the_library_and_the_command(render):
    extra = lookup(pymysql=ABSENT)
    extra["salt_deps"]["install"] = False
    rendered = render("debian-12", with_lookup(load_pillar("single"), extra), sls="glance.salt_deps.mysql")
    module, function, args = rendered.function("glance-salt-deps-pymysql-present")
    assert (module, function) == ("test", "fail_without_changes")
    assert args["comment"] == (
        f"pymysql is missing from the Python that runs Salt ({sys.executable}); install it with: "
        f"{sys.executable} -m pip install PyMySQL==1.2.4 (glance:lookup:salt_deps:install is false)")


@pytest.mark.parametrize("sls, state_id, library", [
    ("glance.server.images", "glance-server-images-Seed list form-glance-image-present", "openstacksdk"),
    ("glance.bootstrap.keystone", "glance-bootstrap-identity-region-present", "openstacksdk"),
    ("glance.bootstrap.keystone", "glance-bootstrap-identity-service-present", "openstacksdk"),
    ("glance.bootstrap.keystone", "glance-bootstrap-identity-role-admin-present", "openstacksdk"),
    ("glance.bootstrap.keystone", "glance-bootstrap-identity-project-present", "openstacksdk"),
    ("glance.bootstrap.database", "glance-bootstrap-database-present", "mysql"),
])
def test_states_that_need_a_library_require_it(render, sls, state_id, library):
    rendered = render("debian-12", load_pillar("single"), sls=sls)
    _, _, args = rendered.function(state_id)
    assert {"sls": f"glance.salt_deps.{library}"} in args["require"]


def test_standalone_without_images_needs_no_library(render):
    rendered = render("debian-12", {}, sls="glance")
    assert not [state for state in rendered.states if state.startswith("glance-salt-deps-")]


# -- the helper that runs in Salt's process ---------------------------------


def _helper():
    spec = importlib.util.spec_from_file_location("salt_python", REPO / "glance" / "lib" / "salt_python.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LIBRARIES = {
    "present": {"module": PRESENT},
    "absent": {"module": ABSENT},
    "since3008": {"module": ABSENT, "since_salt": 3008},
}


def test_status_per_salt_release():
    helper = _helper()
    assert helper.status(LIBRARIES, 3008) == {"present": "present", "absent": "missing", "since3008": "missing"}
    assert helper.status(LIBRARIES, 3006) == {"present": "present", "absent": "missing", "since3008": "unneeded"}


def test_dotted_module_of_a_missing_package_is_missing_not_an_error():
    assert _helper().importable(ABSENT + ".sub") is False
    assert _helper().importable("json.decoder") is True


def test_python_kind_of_this_interpreter():
    expected = "virtualenv" if sys.prefix != sys.base_prefix else "system"
    assert _helper().python_kind() == expected


# -- modules that import openstacksdk after Salt reloaded its modules -------


def _load(relative):
    spec = importlib.util.spec_from_file_location("probe_" + relative.replace("/", "_")[:-3], REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def openstack_modules():
    """Every openstack* entry of sys.modules, put back as it was."""
    import openstack  # noqa: F401  (the SDK, as the other tests see it)

    saved = {name: mod for name, mod in sys.modules.items() if name.split(".")[0] == "openstack"}
    yield
    for name in [n for n in sys.modules if n.split(".")[0] == "openstack"]:
        del sys.modules[name]
    sys.modules.update(saved)


SDK_MODULE = "_modules/openstack_sdk.py"


def test_salts_own_openstack_package_does_not_shadow_the_sdk(openstack_modules):
    """Salt 3008 left salt/utils/openstack in sys.modules as `openstack` after
    a module refresh, and the SDK installed in that very run then failed to
    import (`No module named 'openstack.exceptions'`)."""
    impostor = type(sys)("openstack")
    impostor.__file__ = "/opt/salt/lib/site-packages/salt/utils/openstack/__init__.py"
    for name in [n for n in sys.modules if n.split(".")[0] == "openstack"]:
        del sys.modules[name]
    sys.modules["openstack"] = impostor
    sys.modules["openstack.nova"] = type(sys)("openstack.nova")
    module = _load(SDK_MODULE)
    assert module.HAS_SDK is True
    assert sys.modules["openstack"] is not impostor
    assert "openstack.nova" not in sys.modules


def test_the_sdk_itself_is_left_alone(openstack_modules):
    import openstack

    module = _load(SDK_MODULE)
    module._forget_salts_own_openstack()
    assert sys.modules["openstack"] is openstack


@pytest.mark.parametrize("path", sorted((REPO / "_modules").glob("*.py")) + sorted((REPO / "_states").glob("*.py")),
                         ids=lambda path: f"{path.parent.name}/{path.name}")
def test_only_the_sdk_module_imports_the_sdk(path):
    """The guard above lives in one module: any other reaches the SDK through it."""
    imports = re.findall(r"^\s*(?:import|from)\s+(openstack|keystoneauth1)\b", path.read_text(), re.MULTILINE)
    assert bool(imports) == (path.relative_to(REPO).as_posix() == SDK_MODULE), imports
