"""glance:server:install:method pypi, rendered for each family: the
virtualenv state with what the pillar implies, the release's constraints
file, the formula's uWSGI unit on the virtualenv's uWSGI, glance-manage,
paste file and metadata definitions from the virtualenv; and each refusal
asserted by its message."""
import pathlib

import pytest
import yaml

from saltrender import RenderError, load_pillar

VENV_STATE = "glance-server-install-pypi-venv-installed"
SYNC = "glance-server-db-schema-glance-db-synced"


def packages(rendered):
    """The packages the PyPI install asks for: pkg.installed's, or the
    name of the no-op that stands for it when this machine has them all."""
    _, function, state = rendered.function("glance-server-install-pypi-pkg-installed")
    if function == "succeed_without_changes":
        return state["name"].removeprefix("installed: ").split(", ")
    return state["pkgs"]


def pypi(version="2026.2", **server):
    pillar = {"glance": {"server": {"version": version, "install": {"method": "pypi"}}}}
    pillar["glance"]["server"].update(server)
    return pillar


def test_suite_pillar_installs_the_release_with_what_it_implies(render):
    rendered = render("debian-12", load_pillar("pypi"))
    module, function, venv = rendered.function(VENV_STATE)
    assert (module, function) == ("glance_venv", "installed")
    assert venv["name"] == "/opt/glance/2026.2"
    assert venv["python"] == "/usr/bin/python3"
    # MySQL's driver and keystonemiddleware's memcached clients, as the
    # pillar's database and token cache (over TLS: oslo.cache's binary
    # client) need them.
    assert venv["requirements"] == ["glance==33.0.0", "pyuwsgi==2.0.30.post1", "glance_store[cinder]", "PyMySQL",
                                    "python-memcached", "python-binary-memcached"]
    assert venv["constraints"] == "/opt/glance/2026.2.constraints.txt"
    assert venv["no_binary"] == ["simplegeneric"]
    assert venv["link_modules"] == ["rados", "rbd"]
    _, _, constraints = rendered.function("glance-server-install-pypi-constraints-file-managed")
    assert constraints["source"] == "salt://glance/files/constraints/2026.2.txt"
    assert packages(rendered) == ["python3-venv", "python3-rbd", "python3-rados", "ceph-common"]
    # Nothing of the distribution's Glance.
    assert "glance-server-install-pkg-installed" not in rendered.states


def test_the_service_runs_the_virtualenvs_uwsgi(render):
    rendered = render("debian-12", load_pillar("pypi"))
    unit = rendered.text("/etc/systemd/system/glance-api.service")
    assert "ExecStart=/opt/glance/2026.2/bin/uwsgi --ini /etc/glance/glance-api-uwsgi.ini" in unit
    ini = rendered.ini("/etc/glance/glance-api-uwsgi.ini")
    assert ini.get("uwsgi", "module") == "glance.wsgi.api:application"
    assert not ini.has_option("uwsgi", "plugins")
    # The virtualenv's requests trusts the host's CA bundle, not certifi's.
    assert ini.get("uwsgi", "env") == "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
    api = rendered.ini("/etc/glance/glance-api.conf")
    assert api.get("paste_deploy", "config_file") == "/opt/glance/2026.2/etc/glance/glance-api-paste.ini"
    assert api.get("paste_deploy", "flavor") == "keystone"
    assert api.get("DEFAULT", "log_file") == "/var/log/glance/glance-api.log"
    _, _, service = rendered.function("glance-server-service-glance-api-running")
    assert {"sls": "glance.server.install"} in service["watch"]


def test_with_tls_the_distributions_uwsgi_serves_the_virtualenv(render):
    """The pyuwsgi wheel has no OpenSSL: with bind:ssl on, Debian's uWSGI
    and its Python plugin serve the release's virtualenv, and the wheel is
    not installed."""
    pillar = load_pillar("pypi")
    pillar["glance"]["server"]["bind"]["ssl"] = {"enabled": True, "cert_file": "/etc/ssl/glance.crt",
                                                 "key_file": "/etc/ssl/glance.key"}
    rendered = render("debian-13", pillar)
    unit = rendered.text("/etc/systemd/system/glance-api.service")
    assert "ExecStart=/usr/bin/uwsgi --ini /etc/glance/glance-api-uwsgi.ini" in unit
    ini = rendered.ini("/etc/glance/glance-api-uwsgi.ini")
    assert (ini.get("uwsgi", "plugins"), ini.get("uwsgi", "virtualenv")) == ("python3", "/opt/glance/2026.2")
    assert ini.get("uwsgi", "https-socket").endswith(",/etc/ssl/glance.crt,/etc/ssl/glance.key,HIGH")
    assert ini.get("uwsgi", "skip-atexit-teardown") == "true"
    assert ini.get("uwsgi", "module") == "glance.wsgi.api:application"
    _, _, venv = rendered.function(VENV_STATE)
    assert not [r for r in venv["requirements"] if "uwsgi" in r]
    assert {"uwsgi-core", "uwsgi-plugin-python3"} <= set(packages(rendered))


def test_schema_and_metadefs_use_the_virtualenvs_glance_manage(render):
    rendered = render("debian-12", load_pillar("pypi"))
    _, _, sync = rendered.function(SYNC)
    assert sync["manage"] == "/opt/glance/2026.2/bin/glance-manage"
    assert sync["python"] == "/opt/glance/2026.2/bin/python"
    _, _, metadefs = rendered.function("glance-server-db-load-metadefs-cmd-run")
    assert metadefs["name"] == ("runuser -u glance -- /opt/glance/2026.2/bin/glance-manage --config-file "
                                "/etc/glance/glance-api.conf db_load_metadefs /opt/glance/2026.2/etc/glance/metadefs")


def test_the_user_and_directories_of_the_packages(render):
    rendered = render("debian-13", pypi())
    _, _, user = rendered.function("glance-server-install-pypi-user-present")
    assert (user["name"], user["gid"], user["system"], user["home"], user["shell"]) == \
        ("glance", "glance", True, "/var/lib/glance", "/usr/sbin/nologin")
    _, _, etc = rendered.function("glance-server-install-pypi-config-dir-file-directory")
    assert (etc["name"], etc["user"], etc["group"], etc["mode"]) == ("/etc/glance", "root", "glance", "0750")
    _, _, logs = rendered.function("glance-server-install-pypi-log-dir-file-directory")
    assert (logs["name"], logs["user"], logs["mode"]) == ("/var/log/glance", "glance", "0750")


def test_2024_1_uses_the_wsgi_script_and_may_build_netifaces(render):
    rendered = render("debian-12", pypi("2024.1", install={"method": "pypi", "build": ["netifaces"]}))
    _, _, venv = rendered.function(VENV_STATE)
    assert venv["requirements"][0] == "glance==28.2.0"
    assert venv["no_binary"] == ["netifaces", "pyinotify", "pyperclip", "simplegeneric"]
    assert packages(rendered) == ["python3-venv", "gcc", "python3-dev"]
    ini = rendered.ini("/etc/glance/glance-api-uwsgi.ini")
    assert ini.get("uwsgi", "wsgi-file") == "/opt/glance/2024.1/bin/glance-wsgi-api"
    # uWSGI takes the address; the eventlet options stay out of the way.
    assert ini.get("uwsgi", "http-socket") == "127.0.0.1:9292"


def test_site_index_wheels_and_constraints_are_passed(render):
    rendered = render("debian-12", pypi(install={
        "method": "pypi", "index_url": "https://pypi.example.org/simple", "find_links": "/srv/wheels",
        "constraints": "salt://site/constraints-2026.2.txt"}))
    _, _, venv = rendered.function(VENV_STATE)
    assert (venv["index_url"], venv["find_links"]) == ("https://pypi.example.org/simple", "/srv/wheels")
    _, _, constraints = rendered.function("glance-server-install-pypi-constraints-file-managed")
    assert constraints["source"] == "salt://site/constraints-2026.2.txt"


def test_redhat_uses_python_3_12(render):
    rendered = render("rocky-9", pypi())
    _, _, venv = rendered.function(VENV_STATE)
    assert venv["python"] == "/usr/bin/python3.12"
    assert packages(rendered) == ["python3.12"]
    unit = rendered.text("/etc/systemd/system/openstack-glance-api.service")
    assert "ExecStart=/opt/glance/2026.2/bin/uwsgi" in unit
    ini = rendered.ini("/etc/glance/glance-api-uwsgi.ini")
    assert ini.get("uwsgi", "env") == "REQUESTS_CA_BUNDLE=/etc/pki/tls/certs/ca-bundle.crt"


def test_ubuntu_24_04_runs_2025_1(render):
    rendered = render("ubuntu-24.04", pypi("2025.1"))
    assert rendered.function(VENV_STATE)[2]["requirements"][0] == "glance==30.2.0"


def test_packages_stay_the_default(render):
    rendered = render("debian-12", load_pillar("single"))
    assert VENV_STATE not in rendered.states
    assert rendered.function("glance-server-install-pkg-installed")[:2] == ("pkg", "installed")
    assert rendered.function(SYNC)[2]["manage"] == "/usr/bin/glance-manage"


RBD = {"engine": "rbd", "user": "glance", "pool": "images", "client_glance_key": "AQD=="}
REFUSED = {
    "release not carried": (
        "debian-12", pypi("2024.2"),
        "glance:server:version: release 2024.2 is not installed from PyPI by this formula; releases from PyPI "
        "that run on this host's Python 3.11 (/usr/bin/python3): 2023.2, 2024.1, 2025.1, 2025.2, 2026.1, 2026.2"),
    "release too old for the host's Python": (
        "debian-13", pypi("2024.1"),
        "glance:server:version: release 2024.1 (Glance 28.2.0) runs on Python 3.8 to 3.11, not on this host's "
        "Python 3.13; releases from PyPI that run on this host's Python 3.13 (/usr/bin/python3): 2025.2, "
        "2026.1, 2026.2"),
    "release too new for the host's Python": (
        "ubuntu-22.04", pypi("2026.2"),
        "glance:server:version: release 2026.2 (Glance 33.0.0) runs on Python 3.11 to 3.14, not on this host's "
        "Python 3.10; releases from PyPI that run on this host's Python 3.10 (/usr/bin/python3): 2023.2, "
        "2024.1, 2025.1, 2025.2, 2026.1"),
    "unknown method": (
        "debian-12", {"glance": {"server": {"install": {"method": "source"}}}},
        "glance:server:install:method: expected packages or pypi, got source"),
    "build not a list": (
        "debian-12", pypi(install={"method": "pypi", "build": "netifaces"}),
        "glance:server:install:build: expected a list of package names, got netifaces"),
    "keep_previous not a boolean": (
        "debian-12", pypi(install={"method": "pypi", "keep_previous": "yes"}),
        "glance:server:install:keep_previous: expected true or false, got yes"),
    "rbd without bindings for the Python": (
        "rocky-9", pypi(storage=RBD),
        "glance:server:install:method: pypi with an rbd store needs Ceph's Python bindings built for "
        "/usr/bin/python3.12, which this platform's packages do not provide"),
    "install not a mapping": (
        "debian-12", {"glance": {"server": {"install": "pypi"}}},
        "glance:server:install: expected a mapping, got pypi"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_at_render_with_its_message(render, case):
    platform, pillar, message = REFUSED[case]
    with pytest.raises(RenderError) as error:
        render(platform, pillar)
    assert f"Jinja error: {message}\n" in str(error.value)


REMOVED = "glance-server-install-pypi-distribution-glance-pkg-removed"


def test_a_host_with_the_distributions_glance_moves_once_the_virtualenv_is_complete(render):
    """The render asks dpkg whether the distribution's glance-api is
    installed: `dpkg` stands in for it here, since this machine has it. Its
    packages go after the virtualenv and the schema guard, before any
    configuration is written."""
    pillar = pypi()
    pillar["glance"]["lookup"] = {"pkgs": {"api": ["dpkg"]}}
    rendered = render("debian-12", pillar)
    module, function, removed = rendered.function(REMOVED)
    assert (module, function) == ("pkg", "removed")
    assert removed["pkgs"] == ["glance", "glance-api", "glance-registry", "glance-common", "python3-glance"]
    assert {"glance_venv": VENV_STATE} in removed["require"]
    assert {"glance_db": "glance-server-install-schema-glance-db-not-newer"} in removed["require"]
    assert {"pkg": REMOVED} in rendered.function("glance-server-install-pypi-paste-file-absent")[2]["require"]
    # The configuration requires the whole install SLS, the removal included.
    assert {"sls": "glance.server.install"} in rendered.function("glance-server-config-api-file-managed")[2]["require"]


def test_a_host_without_the_distributions_glance_removes_nothing(render):
    assert REMOVED not in render("debian-12", pypi()).states


def test_each_release_from_pypi_lists_its_pure_python_source_packages():
    parameters = pathlib.Path(__file__).resolve().parents[2] / "glance" / "parameters"
    releases = yaml.safe_load((parameters / "releases.yaml").read_text())["pypi"]
    pure_sdists = yaml.safe_load((parameters / "defaults.yaml").read_text())["pypi"]["pure_sdists"]
    # A release without its list would fail at apply time on a sdist-only pin.
    assert sorted(pure_sdists) == sorted(releases)
    for release, names in pure_sdists.items():
        pinned = (parameters.parent / "files" / "constraints" / f"{release}.txt").read_text()
        for name in names:
            assert f"\n{name}===" in pinned, (release, name)


def test_up_to_2024_1_the_paste_file_is_copied_into_the_config_dir(render):
    rendered = render("debian-12", pypi("2024.1", install={"method": "pypi", "build": ["netifaces"]}))
    _, _, paste = rendered.function("glance-server-install-pypi-paste-file-managed")
    assert (paste["name"], paste["source"]) == ("/etc/glance/glance-api-paste.ini",
                                                "/opt/glance/2024.1/etc/glance/glance-api-paste.ini")
    assert (paste["user"], paste["group"], paste["mode"]) == ("root", "glance", "0640")
    assert rendered.ini("/etc/glance/glance-api.conf").get("paste_deploy", "config_file") == \
        "/etc/glance/glance-api-paste.ini"
    # Later releases read the virtualenv's; a copy left behind is removed.
    rendered = render("debian-12", load_pillar("pypi"))
    _, function, absent = rendered.function("glance-server-install-pypi-paste-file-absent")
    assert (function, absent["name"]) == ("absent", "/etc/glance/glance-api-paste.ini")
    assert rendered.ini("/etc/glance/glance-api.conf").get("paste_deploy", "config_file") == \
        "/opt/glance/2026.2/etc/glance/glance-api-paste.ini"


def test_the_virtualenv_alone_changes_nothing_that_serves(render):
    """glance.server.install.venv, as glance.orchestrate.upgrade applies it
    on every API node before the first is drained: the release's packages,
    constraints and virtualenv, nothing else."""
    rendered = render("debian-13", pypi("2026.1"), sls="glance.server.install.venv")
    assert set(rendered.states) - {"glance-server-install-pypi-saltutil-sync-all"} == {
        "glance-server-install-pypi-pkg-installed", "glance-server-install-pypi-constraints-file-managed",
        VENV_STATE}
    assert rendered.function(VENV_STATE)[2]["name"] == "/opt/glance/2026.1"


def test_with_packages_there_is_no_virtualenv_to_build(render):
    rendered = render("debian-13", {}, sls="glance.server.install.venv")
    assert list(rendered.states) == ["glance-server-install-venv-test-nop"]
