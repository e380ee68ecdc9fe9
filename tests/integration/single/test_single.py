"""Single suite: MariaDB, RabbitMQ, memcached and Keystone on the Glance host
(test-only states), then glance.bootstrap and glance with
tests/pillar/single.sls. Every pillar value asserted where it landed, and
Glance proven to work through Keystone."""
import shlex
import time
import urllib.parse

import pytest
import yaml

from glance_checks import (
    ABORTED_UPLOAD,
    API_CONF,
    UWSGI_INI,
    assert_clean_logs,
    assert_config_valid,
    assert_https_with_the_ca_only,
    assert_private,
    assert_schema_behind_is_detected,
    assert_schema_current,
    assert_secrets_not_on_command_lines,
    assert_security_guide_checks,
    assert_service_running,
    glance_tool,
    http_probe,
    keystone_url,
    local_api,
    openstack,
    read_ini,
    suite_pillar,
    wait_listening,
)

PILLAR = suite_pillar("single")
SERVER = PILLAR["glance"]["server"]
DB_PASSWORD = "Gl@nce$db/1:x"
KEYSTONE_PASSWORD = "Ks$ecret@glance"
RABBIT_PASSWORD = "R4bbit@pass:word"
GLANCE = {
    "OS_AUTH_URL": keystone_url(SERVER) + "/v3",
    "OS_IDENTITY_API_VERSION": "3",
    "OS_USERNAME": "glance",
    "OS_PASSWORD": KEYSTONE_PASSWORD,
    "OS_PROJECT_NAME": "service",
    "OS_USER_DOMAIN_NAME": "Default",
    "OS_PROJECT_DOMAIN_NAME": "Default",
    "OS_REGION_NAME": "RegionTwo",
    "OS_INTERFACE": "internal",
}


@pytest.fixture(scope="module")
def api(host):
    wait_listening(host, "0.0.0.0:9292")
    return read_ini(host, API_CONF)


def test_packages_installed(host):
    for name in ["glance-api", "glance-common", "python3-pymysql"]:
        assert host.package(name).is_installed, name


def test_files_are_private(host):
    for path in [API_CONF, "/etc/glance/policy.yaml"]:
        assert_private(host, path)


def test_security_guide_checks(host):
    assert_security_guide_checks(host, keystone=True)


def test_database_connection(api):
    tls = SERVER["database"].get("ssl") or {}
    assert api.get("database", "connection") == (
        "mysql+pymysql://glance:Gl%40nce%24db%2F1%3Ax@127.0.0.1:3306/glance?charset=utf8"
        + (f"&ssl_ca={tls['cacert_file']}" if tls.get("enabled") else ""))


# Runs on the host with the Python of the Glance that serves: connects as
# glance-api.conf's [database] connection does and prints the session's TLS
# version ("" without TLS).
DATABASE_TLS = r"""
import configparser, sqlalchemy
conf = configparser.RawConfigParser(strict=False)
conf.read("/etc/glance/glance-api.conf")
with sqlalchemy.create_engine(conf.get("database", "connection")).connect() as connection:
    row = connection.execute(sqlalchemy.text("SHOW SESSION STATUS LIKE 'Ssl_version'")).fetchone()
print(row[1] if row else "")
"""


def test_glance_reaches_the_database_over_tls_when_the_pillar_says(host):
    python = glance_tool(host, "python3")
    cmd = host.run(f"{python} -c {shlex.quote(DATABASE_TLS)}")
    assert cmd.rc == 0, cmd.stderr[-2000:]
    if (SERVER["database"].get("ssl") or {}).get("enabled"):
        assert cmd.stdout.strip().startswith("TLSv1."), cmd.stdout
    else:
        assert cmd.stdout.strip() == "", cmd.stdout


def test_keystone_in_region(api):
    # Keystone's CA, where the pillar has Keystone on https.
    cafile = {"cafile": SERVER["identity"]["cacert_file"]} if SERVER["identity"].get("cacert_file") else {}
    assert dict(api.items("keystone_authtoken")) == {
        **cafile,
        "www_authenticate_uri": keystone_url(SERVER),
        "auth_url": keystone_url(SERVER),
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": "glance",
        "password": "Ks$$ecret@glance",
        "region_name": "RegionTwo",
        "service_token_roles_required": "true",
        "memcached_servers": "127.0.0.1:11211",
    }
    assert api.get("paste_deploy", "flavor") == "keystone+caching"  # the pillar turns the image cache on


def test_one_store_offers_no_copy_image(api):
    assert api.get("DEFAULT", "enabled_import_methods") == "['glance-direct', 'web-download']"


def test_messaging_and_notifications(api):
    assert api.get("DEFAULT", "transport_url") == (
        "rabbit://openstack:R4bbit%40pass%3Aword@127.0.0.1:5672/%2Fopenstack")
    # Bounded: a RabbitMQ that is down must not hold image requests (test_faults.py).
    assert dict(api.items("oslo_messaging_notifications")) == {"driver": "messagingv2", "retry": "1"}
    tls = SERVER["message_queue"].get("ssl") or {}
    if tls.get("enabled"):
        assert (api.get("oslo_messaging_rabbit", "ssl"), api.get("oslo_messaging_rabbit", "ssl_ca_file")) == (
            "true", tls["cacert_file"])
    else:
        assert not api.has_option("oslo_messaging_rabbit", "ssl")


def test_rabbitmq_speaks_tls_only_when_the_pillar_says(host):
    """With message_queue:ssl on, RabbitMQ's only AMQP listener is TLS, so
    the notifications the other tests see went over it."""
    listeners = host.run("rabbitmq-diagnostics -q listeners")
    assert listeners.rc == 0, listeners.stderr
    amqp = [line for line in listeners.stdout.splitlines() if "protocol: amqp" in line]
    tls = (SERVER["message_queue"].get("ssl") or {}).get("enabled")
    assert amqp and all(("amqp/ssl" in line) == bool(tls) for line in amqp), listeners.stdout


def test_cors_answers_the_pillars_origin_only(host, api):
    """glance:server:cors in [cors]; a browser's preflight from that origin
    is answered with it, from another origin without any CORS header."""
    assert api.get("cors", "allowed_origin") == "https://dashboard.example.com"
    assert not api.has_section("oslo_middleware")  # not behind a proxy here
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = http_probe(host, local_api(SERVER) + "/v2/images", "OPTIONS",
                         dict(preflight, Origin="https://dashboard.example.com"))
    assert allowed["headers"].get("access-control-allow-origin") == "https://dashboard.example.com", allowed
    assert allowed["headers"].get("access-control-max-age") == "600", allowed
    other = http_probe(host, local_api(SERVER) + "/v2/images", "OPTIONS",
                       dict(preflight, Origin="https://elsewhere.example.com"))
    assert "access-control-allow-origin" not in other["headers"], other


def test_listening_and_workers(host, api):
    if PILLAR["glance"].get("lookup", {}).get("api_server") != "uwsgi":
        assert (api.get("DEFAULT", "bind_host"), api.get("DEFAULT", "bind_port")) == ("0.0.0.0", "9292")
        assert api.get("DEFAULT", "workers") == "2"
        return
    # Under uWSGI its ini holds them, and glance-api.conf none.
    uwsgi = read_ini(host, UWSGI_INI)
    socket = "https-socket" if local_api(SERVER).startswith("https:") else "http-socket"
    assert uwsgi.get("uwsgi", socket).split(",")[0] == "0.0.0.0:9292"
    assert uwsgi.get("uwsgi", "processes") == "2"
    assert not {"bind_host", "bind_port", "workers"} & set(api.defaults())


def test_policy_rules(host):
    # Exactly the pillar's one rule: users keep deleting their own images.
    rules = yaml.safe_load(host.file("/etc/glance/policy.yaml").content_string)
    assert rules == {"publicize_image": "role:admin"}


# Glance's API and Keystone (Security Guide Check-Image-04: TLS for
# authentication), where the suite's pillar puts them on https, and the one
# CA bundle the pillar gives Glance's clients.
HTTPS_SERVICES = {"glance-api": local_api(SERVER) + "/versions", "keystone": keystone_url(SERVER) + "/v3"}
CLIENT_CA = SERVER["identity"].get("cacert_file") or (SERVER["bind"].get("ssl") or {}).get("cacert_file")


@pytest.mark.parametrize("service", HTTPS_SERVICES)
def test_https_answers_a_client_with_the_ca_only(host, service):
    url = HTTPS_SERVICES[service]
    if not url.startswith("https:"):
        pytest.skip(f"{service} is on plain http in this suite's pillar")
    assert CLIENT_CA, "https without a CA bundle in the pillar"
    assert_https_with_the_ca_only(host, url, CLIENT_CA)


def test_service_running(host, api):
    assert_service_running(host, "glance-api")
    assert host.socket("tcp://0.0.0.0:9292").is_listening


def test_schema_current(host):
    assert_schema_current(host)


def test_schema_behind_the_release_is_detected(host):
    # MariaDB on this host: root through its unix socket.
    def run_sql(statement):
        cmd = host.run(f"mysql --batch --skip-column-names glance -e {shlex.quote(statement)}")
        assert cmd.rc == 0, cmd.stderr
        return cmd.stdout
    assert_schema_behind_is_detected(host, run_sql)


def test_config_valid_for_installed_glance(host):
    assert_config_valid(host)


def test_endpoints_registered_in_region(host, api):
    endpoints = openstack(host, GLANCE, "endpoint list --service image --region RegionTwo")
    assert sorted(e["Interface"] for e in endpoints) == ["admin", "internal", "public"]
    assert {e["URL"] for e in endpoints} == set(PILLAR["glance"]["bootstrap"]["identity"]["endpoints"].values())


def test_keystone_token_lists_and_publishes_images(host, api):
    name = "single-suite-probe"
    image = openstack(host, GLANCE, f"image create {name} --disk-format raw --container-format bare --public")
    try:
        assert image["visibility"] == "public"
        listed = openstack(host, GLANCE, "image list")
        assert name in [item["Name"] for item in listed]
    finally:
        openstack(host, GLANCE, f"image delete {image['id']}", output=False)


def test_notifications_reach_rabbitmq(host, api):
    """An image event lands in the notifications queue on the pillar's vhost."""
    def queued():
        cmd = host.run("rabbitmqctl -q list_queues -p /openstack name messages")
        assert cmd.rc == 0, cmd.stderr
        counts = dict(line.split() for line in cmd.stdout.splitlines() if line.strip())
        return int(counts.get("notifications.info", 0))

    before = queued()
    image = openstack(host, GLANCE, "image create notify-probe --disk-format raw --container-format bare")
    openstack(host, GLANCE, f"image delete {image['id']}", output=False)
    deadline = time.monotonic() + 30
    while queued() <= before and time.monotonic() < deadline:
        time.sleep(1)
    assert queued() > before


def test_no_password_on_command_lines(host, api):
    # As they are, URL-quoted (database and transport URLs) and with
    # oslo.config's $ escaped.
    secrets = {form for p in (DB_PASSWORD, KEYSTONE_PASSWORD, RABBIT_PASSWORD)
               for form in (p, urllib.parse.quote(p, safe=""), p.replace("$", "$$"))}
    assert_secrets_not_on_command_lines(host, sorted(secrets))


def test_clean_logs(host, api):
    # test_faults.py stops MariaDB under the running glance-api, whose next
    # request finds its pooled connection gone (oslo.db reconnects).
    # It also stops RabbitMQ while images are uploaded: their notifications
    # are dropped.
    assert_clean_logs(host, provoked=[
        ABORTED_UPLOAD, r"Database connection was found disconnected; reconnecting",
        r"ERROR (oslo\.messaging\._drivers\.impl_rabbit|oslo_messaging\.notify\.messaging) "])
