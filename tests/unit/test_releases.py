"""Every release, on Debian, Ubuntu and RedHat-family grains: the keys that
differ between releases are present exactly where the release has them, and
every feature of glance/parameters/releases.yaml changes the render exactly
at its bounds. The release boundaries are written out here on purpose,
independently of releases.yaml, so a wrong boundary there fails here."""
import collections

import pytest
import yaml

import conftest
from saltrender import REPO, RenderError, load_pillar, with_version

API = "/etc/glance/glance-api.conf"
REGISTRY = "/etc/glance/glance-registry.conf"

# Release -> Glance major version.
RELEASES = {
    "juno": 9, "kilo": 10, "liberty": 11, "mitaka": 12, "newton": 13,
    "ocata": 14, "pike": 15, "queens": 16, "rocky": 17, "stein": 18,
    "train": 19, "ussuri": 20, "victoria": 21, "wallaby": 22, "xena": 23,
    "yoga": 24, "zed": 25, "2023.1": 26, "2023.2": 27, "2024.1": 28,
    "2024.2": 29, "2025.1": 30, "2025.2": 31, "2026.1": 32, "2026.2": 33,
}
PLATFORMS = ["debian-12", "ubuntu-22.04", "rocky-9"]


@pytest.fixture(params=PLATFORMS)
def platform(request):
    return request.param


def _for_every_release(pillar):
    """The single suite's pillar less what the oldest releases refuse, each
    covered by its feature's own probe: cors (before Mitaka,
    cors_middleware), db_purge (before Liberty) and limits (before Xena,
    keystone_limits)."""
    pillar["glance"]["server"].pop("cors")
    pillar["glance"]["server"].pop("db_purge")
    pillar["glance"]["server"].pop("limits")
    return pillar


SINGLE = _for_every_release(load_pillar("single"))


@pytest.mark.parametrize("release", RELEASES)
def test_release_keys(render, platform, release):
    major = RELEASES[release]
    rendered = render(platform, with_version(SINGLE, release))
    files = rendered.managed_files()
    api = rendered.ini(API)
    default = dict(api.items("DEFAULT"))
    authtoken = dict(api.items("keystone_authtoken"))

    # glance-registry: config and service through Ussuri.
    assert (REGISTRY in files) == (major <= 20)
    service_ids = [state_id for state_id in rendered.states if state_id.startswith("glance-server-service-")]
    assert service_ids
    assert any("registry" in state_id for state_id in service_ids) == (major <= 20)

    # Images API v1 talks to the registry through Queens.
    assert ("registry_host" in default) == (major <= 16)

    # Messaging: rabbit_* up to Ocata ([DEFAULT] in Juno), transport_url after.
    if major <= 14:
        section = "DEFAULT" if major == 9 else "oslo_messaging_rabbit"
        assert api.get(section, "rabbit_host") == "127.0.0.1"
        assert api.get(section, "rabbit_password") == "R4bbit@pass:word"
        assert api.get(section, "rabbit_virtual_host") == "/openstack"
        assert "transport_url" not in default
    else:
        assert default["transport_url"].startswith("rabbit://openstack:R4bbit%40pass%3Aword@127.0.0.1:5672/")
        assert not api.has_option("oslo_messaging_rabbit", "rabbit_host")

    # Notifications: notification_driver through Kilo.
    if major <= 10:
        assert default["notification_driver"] == "messagingv2"
        assert not api.has_section("oslo_messaging_notifications")
    else:
        assert api.get("oslo_messaging_notifications", "driver") == "messagingv2"
        assert "notification_driver" not in default

    # keystone_authtoken: admin_* (Juno), auth_plugin (Kilo-Mitaka), auth_type
    # after; auth_uri until Queens, www_authenticate_uri from Rocky.
    assert ("admin_password" in authtoken) == (major == 9)
    assert ("auth_plugin" in authtoken) == (10 <= major <= 12)
    assert ("auth_type" in authtoken) == (major >= 13)
    assert ("project_domain_id" in authtoken) == (10 <= major <= 12)
    assert ("project_domain_name" in authtoken) == (major >= 13)
    assert ("auth_uri" in authtoken) == (major <= 16)
    assert ("www_authenticate_uri" in authtoken) == (major >= 17)
    password_key = "admin_password" if major == 9 else "password"
    assert authtoken[password_key] == "Ks$$ecret@glance"

    # Database driver.
    expected_driver = "mysql+pymysql://" if major >= 11 else "mysql://"
    assert api.get("database", "connection").startswith(expected_driver)

    # Stores: [glance_store] default_store until Train, multistore after.
    if major >= 20:
        assert default["enabled_backends"] == "file:file"
        assert api.get("glance_store", "default_backend") == "file"
        assert api.has_section("os_glance_staging_store")
        assert api.has_section("os_glance_tasks_store")
        assert not api.has_option("glance_store", "default_store")
    else:
        assert api.get("glance_store", "default_store") == "file"
        assert "enabled_backends" not in default
        assert not api.has_section("os_glance_staging_store")

    # Policy file: policy.json up to Victoria, policy.yaml from Wallaby.
    policy = "/etc/glance/policy.yaml" if major >= 22 else "/etc/glance/policy.json"
    assert policy in files
    assert ("/etc/glance/policy.json" if major >= 22 else "/etc/glance/policy.yaml") not in files

    # Listening: in glance-api.conf while the eventlet server exists,
    # in the uWSGI ini from 2026.2.
    uwsgi_ini = "/etc/glance/glance-api-uwsgi.ini"
    if major >= 33:
        assert "bind_host" not in default and "bind_port" not in default and "workers" not in default
        uwsgi = dict(rendered.ini(uwsgi_ini).items("uwsgi"))
        assert uwsgi["http-socket"] == "0.0.0.0:9292"
        assert uwsgi["processes"] == "2"
        assert uwsgi["module"] == "glance.wsgi.api:application"
        assert uwsgi["http-chunked-input"] == "true"
        assert int(uwsgi["chunked-input-limit"]) >= 64 * 1024 * 1024
        # A client gone before its answer is not raised into Glance.
        assert uwsgi["disable-write-exception"] == "true"
        # A stopping worker skips Python's teardown, which waited for
        # threads still running (RabbitMQ's heartbeat) until uWSGI's mercy.
        assert (uwsgi["die-on-term"], uwsgi["skip-atexit-teardown"]) == ("true", "true")
    else:
        assert (default["bind_host"], default["bind_port"], default["workers"]) == ("0.0.0.0", "9292", "2")
        assert uwsgi_ini not in files

    # db_sync guarded by db check from Queens; before, it runs on changes.
    if major >= 16:
        module, _, sync = rendered.function("glance-server-db-schema-glance-db-synced")
        assert module == "glance_db" and "onchanges" not in sync
        assert "glance-server-db-sync-cmd-run" not in rendered.states
    else:
        _, _, sync = rendered.function("glance-server-db-sync-cmd-run")
        assert "unless" not in sync
        assert sync["onchanges"]


@pytest.mark.parametrize("version, canonical", [
    ("antelope", "2023.1"), ("epoxy", "2025.1"), ("hibiscus", "2026.2"), (2024.1, "2024.1"),
    ("ZED", "zed"),
])
def test_codenames_and_numbers_are_accepted(render, version, canonical):
    pillar = {"glance": {"server": {"version": version}}}
    reference = {"glance": {"server": {"version": canonical}}}
    assert render("debian-12", pillar).text(API) == render("debian-12", reference).text(API)


@pytest.mark.parametrize("platform, release, expected", [
    ("debian-12", "zed", "zed"),
    ("debian-13", "2025.1", "2025.1"),
    ("ubuntu-22.04", "yoga", "yoga"),
    ("ubuntu-24.04", "2024.1", "2024.1"),
    ("rocky-9", "2025.1", "2025.1"),
])
def test_default_release_is_the_distributions(render, platform, release, expected):
    implicit = render(platform, {})
    explicit = render(platform, {"glance": {"server": {"version": expected}}})
    assert implicit.text(API) == explicit.text(API)
    assert implicit.managed_files().keys() == explicit.managed_files().keys()
    # Neighbouring releases can render the same files: ask the map itself.
    assert map_value(platform, "glance.version") == release


def map_value(platform, expression):
    """EXPRESSION on map.jinja's `glance`, for PLATFORM's grains and no pillar."""
    template = "{%- from 'glance/map.jinja' import glance with context %}{{ " + expression + " }}"
    return conftest._renderer(platform).caller.cmd(
        "slsutil.renderer", string=template, default_renderer="jinja", tpldir="glance")


def test_uwsgi_by_lookup_on_older_release_loads_the_script(render):
    pillar = {"glance": {"lookup": {"api_server": "uwsgi"}, "server": {"version": "zed", "workers": 3}}}
    rendered = render("debian-12", pillar)
    uwsgi = dict(rendered.ini("/etc/glance/glance-api-uwsgi.ini").items("uwsgi"))
    assert uwsgi["wsgi-file"] == "/usr/bin/glance-wsgi-api"
    assert "module" not in uwsgi
    assert uwsgi["processes"] == "3"
    # The distribution's requests trusts the host's CA bundle already.
    assert "env" not in uwsgi
    api = rendered.ini(API)
    assert not api.has_option("DEFAULT", "bind_host")
    unit = rendered.text("/etc/systemd/system/glance-api.service")
    assert "ExecStart=/usr/bin/uwsgi --ini /etc/glance/glance-api-uwsgi.ini" in unit
    # Stopped by its master alone (each worker signalled once).
    assert "\nKillMode=mixed\n" in unit


@pytest.mark.parametrize("platform, pkgs, services", [
    ("debian-12", ["glance-api", "python3-pymysql"], ["glance-api"]),
    ("ubuntu-22.04", ["glance-api", "python3-pymysql"], ["glance-api"]),
    ("rocky-9", ["openstack-glance", "python3-PyMySQL"], ["openstack-glance-api"]),
])
def test_packages_and_services_per_family(render, platform, pkgs, services):
    rendered = render(platform, with_version(load_pillar("single"), "2025.1"))
    _, _, install = rendered.function("glance-server-install-pkg-installed")
    assert install["pkgs"] == pkgs
    names = [rendered.function(state_id)[2]["name"] for state_id in rendered.states
             if state_id.startswith("glance-server-service-")]
    assert names == services


@pytest.mark.parametrize("platform, pkgs, registry_service", [
    ("debian-12", ["glance-api", "python3-pymysql", "glance-registry"], "glance-registry"),
    # RDO's openstack-glance package holds the registry too.
    ("rocky-9", ["openstack-glance", "python3-PyMySQL"], "openstack-glance-registry"),
])
def test_registry_package_and_service_on_ussuri(render, platform, pkgs, registry_service):
    rendered = render(platform, with_version(SINGLE, "ussuri"))
    _, _, install = rendered.function("glance-server-install-pkg-installed")
    assert install["pkgs"] == pkgs
    assert f"glance-server-service-{registry_service}-running" in rendered.states


def test_rbd_and_postgresql_packages(render):
    rendered = render("debian-12", load_pillar("ceph"))
    _, _, install = rendered.function("glance-server-install-pkg-installed")
    assert install["pkgs"] == ["glance-api", "python3-psycopg2", "python3-rbd", "python3-rados", "ceph-common"]


# Every feature of releases.yaml flips its rendered effect exactly at its
# bounds: rendered at its first release and the one before, at its last and
# the one after (at the oldest or newest release where a bound is open).

RELEASE_DATA = yaml.safe_load((REPO / "glance" / "parameters" / "releases.yaml").read_text())
RELEASE_OF = {major: name for name, major in RELEASE_DATA["releases"].items()}

# Pillars that make the features show; each pinned to a release by the test.
_MQ_HA_TLS = load_pillar("rabbitmq_ha")
_MQ_HA_TLS["glance"]["server"]["message_queue"]["ssl"] = {"enabled": True, "cacert_file": "/etc/ssl/ca.pem"}
PROBES = {
    "single": SINGLE,  # test_release_keys renders it too: shared renders
    "mq_ha_tls": _MQ_HA_TLS,
    "noauth": {},
    # Packages that carry glance.wsgi (Debian's 30.0.0 does not).
    "uwsgi": {"glance": {"lookup": {"api_server": "uwsgi", "uwsgi": {"packaged_wsgi_module": True}}}},
    "uwsgi_debian": {"glance": {"lookup": {"api_server": "uwsgi", "uwsgi": {"packaged_wsgi_module": False}}}},
    # Image import needs Keystone.
    "glance_download": {"glance": {"server": {"identity": {"host": "keystone", "password": "pw"},
                                              "import": {"methods": ["glance-direct", "glance-download"]}}}},
    "multiple_locations": {"glance": {"server": {"show_multiple_locations": True}}},
    "cors": {"glance": {"server": {"cors": {"allowed_origin": ["https://dash.example.com"]}}}},
    "behind_proxy": {"glance": {"server": {"behind_proxy": True}}},
    "distributed_import": {"glance": {"server": {"worker_self_reference_url": "http://{minion}:9292"}}},
    "image_cache": {"glance": {"server": {"image_cache": {"enabled": True}}}},
    "db_purge": {"glance": {"server": {"db_purge": {"enabled": True}}}},
    "limits": {"glance": {"server": {"identity": {"host": "keystone", "password": "pw"},
                                     "limits": {"enabled": True}}}},
    "memcache_tls": {"glance": {"server": {"identity": {"host": "keystone", "password": "pw"},
                                           "cache": {"members": [{"host": "memcached"}],
                                                     "ssl": {"enabled": True}}}}},
}


def _has(section, key):
    return lambda rendered: rendered.ini(API).has_option(section, key)


def _has_file(path):
    return lambda rendered: path in rendered.managed_files()


def _rabbit_host_anywhere(rendered):
    api = rendered.ini(API)
    return any(api.has_option(section, "rabbit_host") for section in api.sections())


def _pymysql(rendered):
    return rendered.ini(API).get("database", "connection").startswith("mysql+pymysql://")


def _db_check(rendered):
    return "glance-server-db-schema-glance-db-synced" in rendered.states


def _wsgi_module(rendered):
    uwsgi = dict(rendered.ini("/etc/glance/glance-api-uwsgi.ini").items("uwsgi"))
    return uwsgi.get("module") == "glance.wsgi.api:application" and "wsgi-file" not in uwsgi


def _import_method(method):
    """The pillar's METHOD written, or refused at render time for the release."""
    def effect(render_probe):
        try:
            rendered = render_probe()
        except RenderError as error:
            assert f"has no {method} import method" in str(error), error
            return False
        return method in rendered.ini(API).get("DEFAULT", "enabled_import_methods")
    effect.takes_render = True
    return effect


def _refuses_multiple_locations(render_probe):
    """show_multiple_locations refused where the location API replaces it,
    written before."""
    try:
        rendered = render_probe()
    except RenderError as error:
        assert "glance:server:show_multiple_locations: refused for" in str(error), error
        assert "location API (image API 2.17" in str(error), error
        return True
    assert rendered.ini(API).get("DEFAULT", "show_multiple_locations") == "true"
    return False


_refuses_multiple_locations.takes_render = True


def _written_or_refused(section, key, refusal):
    """SECTION's KEY written, or the pillar refused at render time with
    REFUSAL for the release."""
    def effect(render_probe):
        try:
            rendered = render_probe()
        except RenderError as error:
            assert refusal in str(error), error
            return False
        return rendered.ini(API).has_option(section, key)
    effect.takes_render = True
    return effect


def _purge_timer(render_probe):
    """The db purge timer rendered, or the pillar refused for the release."""
    try:
        rendered = render_probe()
    except RenderError as error:
        assert "has no glance-manage db purge" in str(error), error
        return False
    return "/etc/systemd/system/glance-db-purge.timer" in rendered.managed_files()


_purge_timer.takes_render = True


def _noauth_grants_publicize_image(rendered):
    files = rendered.managed_files()
    policy = next(path for path in ("/etc/glance/policy.yaml", "/etc/glance/policy.json") if path in files)
    return yaml.safe_load(rendered.text(policy)).get("publicize_image") == ""


Feature = collections.namedtuple("Feature", "span probe effect")
# The spans are written out as release names, independently of
# releases.yaml, so a wrong bound there fails here.
FEATURES = {
    "registry": Feature((None, "ussuri"), "single", _has_file(REGISTRY)),
    "v1_api": Feature((None, "queens"), "single", _has("DEFAULT", "registry_host")),
    "rabbit_legacy": Feature((None, "ocata"), "single", _rabbit_host_anywhere),
    "messaging_in_default": Feature((None, "juno"), "single", _has("DEFAULT", "rabbit_host")),
    "notification_driver_legacy": Feature((None, "kilo"), "single", _has("DEFAULT", "notification_driver")),
    "admin_rules_check_role": Feature((None, "2023.1"), "noauth", _noauth_grants_publicize_image),
    "notification_retry": Feature(("pike", None), "mq_ha_tls", _has("oslo_messaging_notifications", "retry")),
    "rabbit_ssl_options": Feature(("pike", None), "mq_ha_tls", _has("oslo_messaging_rabbit", "ssl_ca_file")),
    "authtoken_admin": Feature((None, "juno"), "single", _has("keystone_authtoken", "admin_password")),
    "auth_plugin": Feature(("kilo", "mitaka"), "single", _has("keystone_authtoken", "auth_plugin")),
    "auth_type": Feature(("newton", None), "single", _has("keystone_authtoken", "auth_type")),
    "authtoken_domain_ids": Feature(("kilo", "mitaka"), "single", _has("keystone_authtoken", "project_domain_id")),
    "authtoken_domain_names": Feature(("newton", None), "single",
                                      _has("keystone_authtoken", "project_domain_name")),
    "www_authenticate_uri": Feature(("rocky", None), "single", _has("keystone_authtoken", "www_authenticate_uri")),
    "service_token_roles_required": Feature(("ocata", None), "single",
                                            _has("keystone_authtoken", "service_token_roles_required")),
    "pymysql": Feature(("liberty", None), "single", _pymysql),
    "multistore": Feature(("ussuri", None), "single", _has("DEFAULT", "enabled_backends")),
    "image_import": Feature(("queens", None), "single", _has("import_filtering_opts", "disallowed_hosts")),
    "import_glance_download": Feature(("zed", None), "glance_download", _import_method("glance-download")),
    "cache_centralized_db": Feature(("2024.1", None), "image_cache", _has("DEFAULT", "worker_self_reference_url")),
    "distributed_import": Feature(("wallaby", None), "distributed_import",
                                  _written_or_refused("DEFAULT", "worker_self_reference_url",
                                                      "has no distributed import")),
    "policy_yaml": Feature(("wallaby", None), "single", _has_file("/etc/glance/policy.yaml")),
    "cors_middleware": Feature(("mitaka", None), "cors",
                               _written_or_refused("cors", "allowed_origin", "has no CORS filter")),
    "proxy_headers": Feature(("newton", None), "behind_proxy",
                             _written_or_refused("oslo_middleware", "enable_proxy_headers_parsing",
                                                 "has no http_proxy_to_wsgi filter")),
    "location_api": Feature(("2024.2", None), "multiple_locations", _refuses_multiple_locations),
    "db_check": Feature(("queens", None), "single", _db_check),
    "db_purge": Feature(("liberty", None), "db_purge", _purge_timer),
    "keystone_limits": Feature(("xena", None), "limits",
                               _written_or_refused("DEFAULT", "use_keystone_limits", "has no unified limits")),
    "memcache_tls": Feature(("2025.2", None), "memcache_tls",
                            _written_or_refused("keystone_authtoken", "memcache_tls_enabled",
                                                "has no memcache_tls_enabled")),
    "bind_in_config": Feature((None, "2026.1"), "single", _has("DEFAULT", "bind_host")),
    "wsgi_module": Feature(("2025.1", None), "uwsgi", _wsgi_module),
    "wsgi_script": Feature((None, "2025.2"), "uwsgi_debian", lambda rendered: not _wsgi_module(rendered)),
    "uwsgi_only": Feature(("2026.2", None), "single", _has_file("/etc/glance/glance-api-uwsgi.ini")),
}


def test_every_feature_has_a_boundary_check():
    assert sorted(RELEASE_DATA["features"]) == sorted(FEATURES)


def test_feature_spans_are_the_known_ones():
    majors = RELEASE_DATA["releases"]
    known = {name: [None if bound is None else majors[bound] for bound in feature.span]
             for name, feature in FEATURES.items()}
    assert RELEASE_DATA["features"] == known


def _effect_at(render, feature, major):
    pillar = with_version(PROBES[feature.probe], RELEASE_OF[major])
    if getattr(feature.effect, "takes_render", False):
        effect = feature.effect(lambda: render("debian-12", pillar))
    else:
        effect = feature.effect(render("debian-12", pillar))
    assert isinstance(effect, bool)
    return effect


@pytest.mark.parametrize("name, side", [pytest.param(name, side, id=f"{name}-{side}")
                                        for name in RELEASE_DATA["features"] for side in ("first", "last")])
def test_feature_flips_at_its_bounds(render, name, side):
    assert name in FEATURES, f"{name}: no entry in FEATURES"
    feature = FEATURES[name]
    first, last = RELEASE_DATA["features"][name]
    if side == "first":
        inside = min(RELEASE_OF) if first is None else first
        outside = None if first is None else first - 1
    else:
        inside = max(RELEASE_OF) if last is None else last
        outside = None if last is None else last + 1
    assert _effect_at(render, feature, inside) is True, f"{name} has no effect on {RELEASE_OF[inside]}"
    if outside in RELEASE_OF:
        assert _effect_at(render, feature, outside) is False, f"{name} still has its effect on {RELEASE_OF[outside]}"


def test_debian_packages_load_the_wsgi_script_pypi_the_module(render):
    """Debian's python3-glance 30.0.0 has no glance.wsgi package (upstream's
    30.0.0 has): uWSGI loads the glance-wsgi-api script there."""
    packages = with_version(SINGLE, "2025.1")
    packages["glance"]["lookup"] = {"api_server": "uwsgi"}
    uwsgi = dict(render("debian-13", packages).ini("/etc/glance/glance-api-uwsgi.ini").items("uwsgi"))
    assert uwsgi["wsgi-file"] == "/usr/bin/glance-wsgi-api" and "module" not in uwsgi
    pypi = with_version(SINGLE, "2025.2")
    pypi["glance"]["server"]["install"] = {"method": "pypi"}
    uwsgi = dict(render("debian-13", pypi).ini("/etc/glance/glance-api-uwsgi.ini").items("uwsgi"))
    assert uwsgi["module"] == "glance.wsgi.api:application" and "wsgi-file" not in uwsgi


def test_glance_api_logs_to_its_file_under_the_formulas_uwsgi_unit(render):
    """The packages' eventlet units pass glance-api its log file; the unit
    the formula writes for uWSGI does not, so glance-api.conf names it."""
    packages = with_version(SINGLE, "2025.1")
    assert not render("debian-13", packages).ini(API).has_option("DEFAULT", "log_file")
    packages["glance"]["lookup"] = {"api_server": "uwsgi"}
    api = render("debian-13", packages).ini(API)
    assert api.get("DEFAULT", "log_file") == "/var/log/glance/glance-api.log"
