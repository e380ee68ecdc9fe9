"""_states/glance_venv.py: a virtualenv built in a directory of its own and
switched to only when complete, no pip at all on a converged host, a dry
run that predicts, and failures that say why and leave what served
serving. Commands are simulated (no network, no pip); files are real."""
import json
import os

import pytest

import saltmodules

PYTHON = "/usr/bin/python3"
REQUIREMENTS = ["glance==33.0.0", "pyuwsgi==2.0.30.post1", "PyMySQL"]
NO_WHEEL = ("ERROR: Could not find a version that satisfies the requirement netifaces===0.11.0 "
            "(from oslo.utils) (from versions: none)\nERROR: No matching distribution found for netifaces")
CONFLICT = ("ERROR: Cannot install wsme==0.13.0 because these package versions have conflicting dependencies.\n\n"
            "The conflict is caused by:\n    wsme 0.13.0 depends on simplegeneric\n"
            "    The user requested (constraint) simplegeneric===0.8.1\n\n"
            "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/...")
OFFLINE = ("WARNING: Retrying (Retry(total=4...)) after connection broken by 'NewConnectionError(': "
           "Failed to establish a new connection: [Errno 111] Connection refused')'\n"
           "ERROR: Could not find a version that satisfies the requirement glance==33.0.0 (from versions: none)")


class Host:
    """cmd.run_all of a host whose pip exits PIP_RC with PIP_OUTPUT, whose
    distribution Python imports MODULES from files under the test's
    directory; records each command."""

    def __init__(self, tmp_path, pip_rc=0, pip_output="", modules=("rados", "rbd")):
        self.tmp, self.pip_rc, self.pip_output, self.modules = tmp_path, pip_rc, pip_output, modules
        self.commands = []
        self.dist_packages = tmp_path / "dist-packages"
        self.dist_packages.mkdir(exist_ok=True)

    def run_all(self, command, **kwargs):
        assert kwargs["python_shell"] is False and kwargs["output_loglevel"] == "quiet"
        self.commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            (self.tmp / command[3] / "bin").mkdir(parents=True)
            return {"retcode": 0, "stdout": "", "stderr": ""}
        if command[1:4] == ["-m", "pip", "install"]:
            return {"retcode": self.pip_rc, "stdout": "", "stderr": self.pip_output}
        if command[-1].startswith("import sysconfig"):
            site = self.tmp / command[0].split("/bin/")[0] / "lib" / "site-packages"
            site.mkdir(parents=True, exist_ok=True)
            return {"retcode": 0, "stdout": f"{site}\n", "stderr": ""}
        if command[0] == PYTHON and command[1] == "-c" and ".__file__" in command[2]:
            module = command[2].split()[1].rstrip(";")
            if module not in self.modules:
                return {"retcode": 1, "stdout": "", "stderr": f"ModuleNotFoundError: No module named '{module}'"}
            path = self.dist_packages / f"{module}.cpython-311-x86_64-linux-gnu.so"
            path.write_text("binary")
            return {"retcode": 0, "stdout": f"{path}\n", "stderr": ""}
        if command[0] == PYTHON and command[1] == "-c":
            return {"retcode": 0, "stdout": "3.11\n", "stderr": ""}
        if command[1] == "-c" and command[2].startswith("import "):
            return {"retcode": 0, "stdout": "", "stderr": ""}
        raise AssertionError(f"unexpected command {command}")

    def pips(self):
        return [c for c in self.commands if c[1:4] == ["-m", "pip", "install"]]

    def module(self, test=False):
        return saltmodules.load("_states/glance_venv.py", __opts__={"test": test},
                                __salt__={"cmd.run_all": self.run_all})


@pytest.fixture
def paths(tmp_path):
    """(venv link, constraints file) under tmp_path; run_all's paths are
    absolute, so the host's files land under tmp_path as they are."""
    constraints = tmp_path / "2026.2.constraints.txt"
    constraints.write_text("oslo.utils===9.0.0\n")
    return str(tmp_path / "opt" / "glance" / "2026.2"), str(constraints)


def install(host, venv, constraints, test=False, **kwargs):
    return host.module(test).installed(venv, PYTHON, REQUIREMENTS, constraints, **kwargs)


def test_first_install_builds_beside_and_switches(tmp_path, paths):
    venv, constraints = paths
    host = Host(tmp_path)
    ret = install(host, venv, constraints, no_binary=["simplegeneric"], link_modules=["rados", "rbd"])
    assert ret["result"] is True, ret["comment"]
    target = os.path.realpath(venv)
    assert os.path.islink(venv) and os.path.dirname(target) == os.path.dirname(venv)
    assert os.path.basename(target).startswith("2026.2-")
    assert ret["changes"] == {"venv": {"old": None, "new": target}, "installed": REQUIREMENTS}
    [pip] = host.pips()
    assert pip[0] == f"{target}/bin/python"
    assert "--only-binary=:all:" in pip and "--no-binary=simplegeneric" in pip
    assert pip[pip.index("--constraint") + 1] == constraints and pip[-3:] == REQUIREMENTS
    recorded = json.loads(open(os.path.join(target, "glance-formula-venv.json")).read())
    assert recorded["spec"]["requirements"] == REQUIREMENTS
    for link in recorded["links"]:
        assert os.path.islink(link) and os.readlink(link).startswith(str(host.dist_packages))


def test_converged_host_runs_no_command_at_all(tmp_path, paths):
    venv, constraints = paths
    install(Host(tmp_path), venv, constraints, link_modules=["rados"])
    again = Host(tmp_path)
    ret = install(again, venv, constraints, link_modules=["rados"])
    assert ret["result"] is True and ret["changes"] == {}
    assert again.commands == []
    dry = Host(tmp_path)
    assert install(dry, venv, constraints, test=True, link_modules=["rados"])["changes"] == {}
    assert dry.commands == []


def test_dry_run_predicts_a_build_and_changes_nothing(tmp_path, paths):
    venv, constraints = paths
    host = Host(tmp_path)
    ret = install(host, venv, constraints, test=True)
    assert ret["result"] is None and ret["changes"]["venv"]["old"] is None
    assert host.commands == [] and not os.path.lexists(venv)


def test_new_constraints_build_a_new_venv_and_remove_the_old(tmp_path, paths):
    venv, constraints = paths
    install(Host(tmp_path), venv, constraints)
    old = os.path.realpath(venv)
    with open(constraints, "a") as handle:
        handle.write("PyMySQL===1.2.0\n")
    ret = install(Host(tmp_path), venv, constraints)
    new = os.path.realpath(venv)
    assert ret["result"] is True and new != old
    assert ret["changes"]["venv"] == {"old": old, "new": new}
    assert not os.path.exists(old)


def test_package_without_a_wheel_fails_naming_it_and_keeps_the_old_venv(tmp_path, paths):
    venv, constraints = paths
    install(Host(tmp_path), venv, constraints)
    serving = os.path.realpath(venv)
    with open(constraints, "a") as handle:
        handle.write("netifaces===0.11.0\n")
    ret = install(Host(tmp_path, pip_rc=1, pip_output=NO_WHEEL), venv, constraints)
    assert ret["result"] is False and ret["changes"] == {}
    assert "no distribution of netifaces===0.11.0" in ret["comment"]
    assert "allow building netifaces (glance:server:install:build)" in ret["comment"]
    assert ret["comment"].endswith(f"{serving} still serves")
    # The failed build is gone; the old one serves on.
    assert os.path.realpath(venv) == serving
    assert sorted(os.listdir(os.path.dirname(venv))) == sorted(["2026.2", os.path.basename(serving)])


def test_unreachable_index_is_named(tmp_path, paths):
    venv, constraints = paths
    ret = install(Host(tmp_path, pip_rc=1, pip_output=OFFLINE), venv, constraints)
    assert ret["result"] is False
    assert "pip install failed: the package index could not be reached (Failed to establish" in ret["comment"]
    assert not os.path.lexists(venv) and os.listdir(os.path.dirname(venv)) == []


def test_a_pinned_package_without_a_wheel_is_named(tmp_path, paths):
    """With wheels only, pip reports a pinned package that has none as a
    conflict with its pin."""
    venv, constraints = paths
    ret = install(Host(tmp_path, pip_rc=1, pip_output=CONFLICT), venv, constraints)
    assert ret["result"] is False
    assert ret["comment"] == (
        f"{venv}: pip install failed: no distribution of simplegeneric===0.8.1 that this host may install "
        "(wheels only for Python 3.11, except none), or a requirement conflicts with that pin (wsme 0.13.0 "
        "depends on simplegeneric); give a wheel (find_links) or allow building simplegeneric "
        "(glance:server:install:build)")


def test_interrupted_build_is_started_again(tmp_path, paths):
    venv, constraints = paths
    first = install(Host(tmp_path), venv, constraints)
    target = first["changes"]["venv"]["new"]
    # As if the run had died after pip: the directory is there, the link
    # and the record are not.
    os.remove(venv)
    os.remove(os.path.join(target, "glance-formula-venv.json"))
    host = Host(tmp_path)
    ret = install(host, venv, constraints)
    assert ret["result"] is True and os.path.realpath(venv) == target
    assert len(host.pips()) == 1


def test_missing_ceph_bindings_are_named(tmp_path, paths):
    venv, constraints = paths
    ret = install(Host(tmp_path, modules=()), venv, constraints, link_modules=["rados"])
    assert ret["result"] is False
    assert "cannot import rados, which the virtualenv takes from the distribution (Ceph's python3-rados" \
        in ret["comment"]
    assert not os.path.lexists(venv)


def test_a_directory_in_the_links_place_is_refused(tmp_path, paths):
    venv, constraints = paths
    os.makedirs(venv)
    host = Host(tmp_path)
    ret = install(host, venv, constraints)
    assert ret["result"] is False and "is not the link this state manages" in ret["comment"]
    assert host.commands == []


def test_missing_constraints_file_is_named(tmp_path, paths):
    venv, _ = paths
    ret = install(Host(tmp_path), venv, str(tmp_path / "nowhere.txt"))
    assert ret["result"] is False and ret["comment"] == f"The constraints file {tmp_path}/nowhere.txt is missing"


def two_releases(tmp_path):
    """2026.1 and 2026.2 built side by side under /opt/glance, a directory
    of the site's own beside them; returns (2026.1's paths, 2026.2's link)."""
    root = tmp_path / "opt" / "glance"
    made = {}
    for release in ("2026.1", "2026.2"):
        constraints = root / f"{release}.constraints.txt"
        root.mkdir(parents=True, exist_ok=True)
        constraints.write_text(f"# {release}\n")
        host = Host(tmp_path)
        assert install(host, str(root / release), str(constraints))["result"] is True
        made[release] = sorted([str(root / release), os.path.realpath(root / release), str(constraints)])
    (root / "site-tools-0123456789ab").mkdir()  # looks like a build, holds no marker
    return made["2026.1"], str(root / "2026.2")


def test_the_other_releases_go_once_the_new_one_serves(tmp_path):
    previous, serving = two_releases(tmp_path)
    ret = Host(tmp_path).module().previous_absent(serving)
    assert ret["result"] is True and ret["changes"] == {"removed": previous}
    assert not any(os.path.lexists(path) for path in previous)
    assert os.path.isdir(os.path.realpath(serving)) and os.path.isdir(tmp_path / "opt/glance/site-tools-0123456789ab")
    again = Host(tmp_path).module().previous_absent(serving)
    assert again["changes"] == {} and again["comment"] == f"No other release beside {serving}"


def test_keep_leaves_the_other_releases_and_a_dry_run_removes_nothing(tmp_path):
    previous, serving = two_releases(tmp_path)
    kept = Host(tmp_path).module().previous_absent(serving, keep=True)
    assert kept["result"] is True and kept["changes"] == {} and "keep_previous" in kept["comment"]
    dry = Host(tmp_path).module(test=True).previous_absent(serving)
    assert dry["result"] is None and dry["changes"] == {"removed": previous}
    assert all(os.path.lexists(path) for path in previous)
