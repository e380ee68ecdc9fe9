"""The converge suites' configuration checks (tests/integration), run here
against what the formula renders, through a stand-in for testinfra's host:
they pass on the rendered files, and fail when a key is missing, repeated
or in the wrong section."""
import configparser
import importlib.util
import sys

import pytest

from saltrender import REPO, load_pillar

INTEGRATION = REPO / "tests" / "integration"
API = "/etc/glance/glance-api.conf"
UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"


def load_suite(relative, name):
    if str(INTEGRATION) not in sys.path:
        sys.path.insert(0, str(INTEGRATION))  # the suites import glance_checks
    spec = importlib.util.spec_from_file_location(name, INTEGRATION / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


standalone = load_suite("standalone/test_standalone.py", "standalone_suite")
single = load_suite("single/test_single.py", "single_suite")
single_ceph = load_suite("single_ceph/test_single_ceph.py", "single_ceph_suite")
cluster = load_suite("cluster/test_cluster.py", "cluster_suite")
checks = sys.modules["glance_checks"]


class _File:
    def __init__(self, text):
        self.exists = text is not None
        self.content_string = text


class _Package:
    def __init__(self, version):
        self.is_installed = True
        self.version = version


class _SystemInfo:
    distribution = "debian"


class FakeHost:
    """Files and the Glance package version of a Debian host."""

    system_info = _SystemInfo()

    def __init__(self, files, glance_version):
        self.files = files
        self.glance_version = glance_version

    def file(self, path):
        return _File(self.files.get(path))

    def package(self, name):
        assert name == "glance-common", name
        return _Package(self.glance_version)


def rendered_host(render, platform, pillar, glance_version):
    rendered = render(platform, pillar)
    paths = [path for path in (API, UWSGI_INI) if path in rendered.managed_files()]
    return FakeHost({path: rendered.text(path) for path in paths}, glance_version)


def run_standalone_config_checks(host):
    api = checks.read_ini(host, API)
    major = standalone.glance_major(host.package("glance-common").version)
    standalone.test_api_conf_uses_sqlite(api)
    standalone.test_api_conf_has_no_keystone(api)
    standalone.test_api_conf_listens_on_loopback(host, api, major)
    standalone.test_api_conf_file_store(api, major)


@pytest.mark.parametrize("platform, version, package_version", [
    ("debian-12", None, "2:25.0.0-5"),        # zed
    ("debian-13", None, "2:30.0.0-3"),        # 2025.1
    ("debian-13", "2026.2", "2:33.0.0-1"),    # uWSGI only
])
def test_standalone_checks_pass_on_the_rendered_config(render, platform, version, package_version):
    pillar = {"glance": {"server": {"version": version}}} if version else {}
    run_standalone_config_checks(rendered_host(render, platform, pillar, package_version))


def _move(text, line, section):
    assert line + "\n" in text and f"[{section}]\n" in text
    text = text.replace(line + "\n", "", 1)
    return text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)


DOCTORED = {
    "bind_host missing": lambda text: text.replace("bind_host = 127.0.0.1\n", ""),
    "bind_host outside DEFAULT": lambda text: _move(text, "bind_host = 127.0.0.1", "paste_deploy"),
    "connection in DEFAULT": lambda text: _move(
        text, "connection = sqlite:////var/lib/glance/glance.sqlite", "DEFAULT"),
    "store directory in DEFAULT": lambda text: _move(
        text, "filesystem_store_datadir = /var/lib/glance/images", "DEFAULT"),
    "bind_port repeated": lambda text: text.replace("bind_port = 9292\n", "bind_port = 9393\nbind_port = 9292\n"),
}


@pytest.mark.parametrize("case", DOCTORED)
def test_standalone_checks_fail_on_a_misplaced_key(render, case):
    host = rendered_host(render, "debian-12", {}, "2:25.0.0-5")
    host.files[API] = DOCTORED[case](host.files[API])
    with pytest.raises((AssertionError, configparser.Error)):
        run_standalone_config_checks(host)


@pytest.mark.parametrize("package_version, major", [
    ("2:25.0.0-5", 25), ("2:24.0.0-0ubuntu1", 24), ("30.0.0", 30), ("33.1.0~rc1-1", 33)])
def test_glance_major_from_package_versions(package_version, major):
    assert standalone.glance_major(package_version) == major


@pytest.mark.parametrize("package_version", ["", "2:", "glance-25"])
def test_glance_major_refuses_what_is_not_a_version(package_version):
    with pytest.raises(AssertionError):
        standalone.glance_major(package_version)


@pytest.mark.parametrize("platform", ["debian-12", "debian-13"])
def test_single_checks_pass_on_the_rendered_config(render, platform):
    # The suite's whole pillar: single.sls with TLS under uWSGI over it.
    host = rendered_host(render, platform, checks.suite_pillar("single"), None)
    api = checks.read_ini(host, API)
    single.test_database_connection(api)
    single.test_keystone_in_region(api)
    single.test_messaging_and_notifications(api)
    single.test_listening_and_workers(host, api)


@pytest.mark.parametrize("platform", ["debian-12", "debian-13"])
def test_single_ceph_checks_pass_on_the_rendered_config(render, platform):
    api = checks.read_ini(rendered_host(render, platform, load_pillar("single_ceph"), None), API)
    single_ceph.test_rbd_store_options(api)


@pytest.mark.parametrize("platform", ["debian-12", "debian-13"])
def test_cluster_checks_pass_on_the_rendered_config(render, platform):
    api = checks.read_ini(rendered_host(render, platform, load_pillar("cluster"), None), API)
    cluster.test_members_and_shared_settings(api)
