"""Each pillar option asserted where it lands (file, section, key, value),
and the options a scenario does not set asserted absent."""
import configparser
import json

import pytest
import yaml

from saltrender import load_pillar, with_version

API = "/etc/glance/glance-api.conf"
REGISTRY = "/etc/glance/glance-registry.conf"


def options(parser, section):
    assert parser.has_section(section), f"no [{section}]"
    return dict(parser.items(section))


def assert_section(parser, section, expected):
    """The section is there and holds exactly these keys and values."""
    assert options(parser, section) == expected, section


def assert_no_section(parser, section):
    assert not parser.has_section(section), f"[{section}] is there"


@pytest.fixture(params=["debian-12", "ubuntu-24.04", "rocky-9"])
def platform(request):
    return request.param


def test_standalone_is_sqlite_file_store_without_keystone_on_loopback(render, platform):
    rendered = render(platform, load_pillar("standalone"))
    api = rendered.ini(API)
    assert api.get("DEFAULT", "bind_host") == "127.0.0.1"
    assert api.get("DEFAULT", "bind_port") == "9292"
    assert_section(api, "database", {"connection": "sqlite:////var/lib/glance/glance.sqlite"})
    assert_section(api, "paste_deploy", {"flavor": ""})
    for absent in ["keystone_authtoken", "oslo_messaging_notifications", "oslo_messaging_rabbit"]:
        assert_no_section(api, absent)
    for absent in ["workers", "transport_url", "image_cache_dir", "show_multiple_locations", "registry_host",
                   "property_protection_file", "property_protection_rule_format"]:
        assert not api.has_option("DEFAULT", absent), absent
    assert "/etc/glance/property-protections.conf" not in rendered.managed_files()
    for absent in ["cors", "oslo_middleware"]:
        assert_no_section(api, absent)
    assert api.get("DEFAULT", "show_image_direct_url") == "false"
    # Without Keystone the policy agrees that every request is an admin's.
    policy = rendered.text("/etc/glance/policy.yaml")
    assert '"context_is_admin": ""' in policy


def test_single_on_zed(render):
    api = render("debian-12", load_pillar("single")).ini(API)
    assert_section(api, "DEFAULT", {
        "bind_host": "0.0.0.0",
        "bind_port": "9292",
        "workers": "2",
        "transport_url": "rabbit://openstack:R4bbit%40pass%3Aword@127.0.0.1:5672/%2Fopenstack",
        "enabled_backends": "file:file",
        # One store: no copy-image, which copies between stores.
        "enabled_import_methods": "['glance-direct', 'web-download']",
        # Off unless asked for (OSSN-0090); show_multiple_locations is
        # left out when off (deprecated for removal: Glance warns when set).
        "show_image_direct_url": "false",
        "property_protection_file": "/etc/glance/property-protections.conf",
        "property_protection_rule_format": "roles",
        "image_cache_dir": "/var/lib/glance/image-cache",
        "image_cache_max_size": "8388608",
        "use_keystone_limits": "true",
    })
    assert_section(api, "database", {
        "connection": "mysql+pymysql://glance:Gl%40nce%24db%2F1%3Ax@127.0.0.1:3306/glance?charset=utf8",
    })
    assert_section(api, "keystone_authtoken", {
        "www_authenticate_uri": "http://127.0.0.1:5000",
        "auth_url": "http://127.0.0.1:5000",
        "auth_type": "password",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
        "project_name": "service",
        "username": "glance",
        "password": "Ks$$ecret@glance",
        "region_name": "RegionTwo",
        "service_token_roles_required": "true",
        "memcached_servers": "127.0.0.1:11211",
    })
    assert_section(api, "oslo_messaging_notifications", {"driver": "messagingv2", "retry": "1"})
    assert_section(api, "paste_deploy", {"flavor": "keystone+caching"})
    assert_section(api, "glance_store", {"default_backend": "file"})
    assert_section(api, "file", {"filesystem_store_datadir": "/var/lib/glance/images"})
    assert_section(api, "os_glance_staging_store", {"filesystem_store_datadir": "/var/lib/glance/staging"})
    assert_section(api, "os_glance_tasks_store", {"filesystem_store_datadir": "/var/lib/glance/tasks_work_dir"})
    assert_no_section(api, "oslo_messaging_rabbit")


def test_single_policy_rules(render):
    pillar = load_pillar("single")
    # The suite's own rule (a list of alternatives) and a plain string rule.
    pillar["glance"]["server"]["policy"] = {"publicize_image": ["role:admin"], "delete_image": "role:admin"}
    rendered = render("debian-12", pillar)
    text = rendered.text("/etc/glance/policy.yaml")
    assert '"publicize_image": "role:admin"' in text
    assert '"delete_image": "role:admin"' in text
    assert "context_is_admin" not in text


def test_policy_file_is_an_empty_mapping_without_rules(render):
    pillar = load_pillar("single")
    del pillar["glance"]["server"]["policy"]
    text = render("debian-12", pillar).text("/etc/glance/policy.yaml")
    assert text.strip().splitlines()[-1] == "{}"
    rocky = {"glance": {"server": {"version": "rocky", "identity": {"host": "k", "password": "p"}}}}
    rocky = render("debian-12", rocky)
    assert rocky.text("/etc/glance/policy.json").strip() == "{}"


@pytest.mark.parametrize("version", ["juno", "queens"])
def test_copy_from_is_for_administrators_while_v1_lasts(render, version):
    """The Security Guide's Check-Image-05 (masked port scans): the Images
    API v1's copy_from, administrators only, up to Queens; the pillar's rule
    wins, and null leaves it to Glance."""
    pillar = {"glance": {"server": {"version": version, "identity": {"host": "k", "password": "p"}}}}
    assert json.loads(render("debian-12", pillar).text("/etc/glance/policy.json")) == {"copy_from": "role:admin"}
    for given, written in [("role:admin or role:importer", {"copy_from": "role:admin or role:importer"}),
                           (None, {})]:
        pillar["glance"]["server"]["policy"] = {"copy_from": given}
        assert json.loads(render("debian-12", pillar).text("/etc/glance/policy.json")) == written


ADMIN_ONLY = ["context_is_admin", "publicize_image", "manage_image_cache", "copy_image", "cache_image",
              "cache_list", "cache_delete", "stores_info_detail", "metadef_admin", "tasks_api_access"]


@pytest.mark.parametrize("version, granted", [
    ("zed", ADMIN_ONLY), ("2023.1", ADMIN_ONLY), ("2023.2", ["context_is_admin"]),
    ("2025.1", ["context_is_admin"])])
def test_noauth_policy_grants_the_administrator_only_rules(render, version, granted):
    """Up to 2023.1 those rules check role:admin themselves; later ones
    refer to context_is_admin."""
    pillar = {"glance": {"server": {"version": version, "policy": {"copy_image": "role:admin"}}}}
    rules = yaml.safe_load(render("debian-12", pillar).text("/etc/glance/policy.yaml"))
    expected = {rule: "" for rule in granted}
    expected["copy_image"] = "role:admin"  # the pillar's own rule wins
    assert rules == expected


def test_noauth_policy_keeps_the_operators_context_is_admin(render):
    pillar = {"glance": {"server": {"policy": {"context_is_admin": "role:admin"}}}}
    text = render("debian-12", pillar).text("/etc/glance/policy.yaml")
    assert '"context_is_admin": "role:admin"' in text


def test_seed_sample_on_juno(render):
    rendered = render("debian-12", load_pillar("seed_juno"))
    api = rendered.ini(API)
    assert_section(api, "DEFAULT", {
        "bind_host": "127.0.0.1",
        "bind_port": "9292",
        "workers": "8",
        "registry_host": "127.0.0.1",
        "registry_port": "9191",
        "rabbit_host": "127.0.0.1",
        "rabbit_port": "5672",
        "rabbit_userid": "openstack",
        "rabbit_password": "pwd",
        "rabbit_virtual_host": "/openstack",
        "notification_driver": "messagingv2",
        "show_image_direct_url": "false",
    })
    assert_section(api, "database", {"connection": "mysql://glance:pwd@127.0.0.1:3306/glance?charset=utf8"})
    authtoken = {
        "auth_uri": "http://127.0.0.1:5000/v2.0",
        "identity_uri": "http://127.0.0.1:35357",
        "admin_tenant_name": "service",
        "admin_user": "glance",
        "admin_password": "pwd",
    }
    assert_section(api, "keystone_authtoken", authtoken)
    assert_section(api, "glance_store", {
        "default_store": "file",
        "filesystem_store_datadir": "/var/lib/glance/images",
    })
    assert json.loads(rendered.text("/etc/glance/policy.json")) == {
        "copy_from": "role:admin",
        "publicize_image": "role:admin or role:image_manager",
    }
    registry = rendered.ini(REGISTRY)
    assert_section(registry, "DEFAULT", {"bind_host": "127.0.0.1", "bind_port": "9191", "workers": "8"})
    assert_section(registry, "database", {"connection": "mysql://glance:pwd@127.0.0.1:3306/glance?charset=utf8"})
    assert_section(registry, "keystone_authtoken", authtoken)
    assert_section(registry, "paste_deploy", {"flavor": "keystone"})


def test_seed_rabbitmq_ha_lists_every_member(render):
    api = render("debian-12", load_pillar("seed_rabbitmq_ha")).ini(API)
    assert api.get("DEFAULT", "rabbit_hosts") == "10.0.16.1:5672,10.0.16.2:5672,10.0.16.3:5672"
    assert not api.has_option("DEFAULT", "rabbit_host")


def test_rabbitmq_ha_members_in_transport_url(render, platform):
    api = render(platform, load_pillar("rabbitmq_ha")).ini(API)
    assert api.get("DEFAULT", "transport_url") == (
        "rabbit://openstack:mq-secret@rabbit1.example.org:5672,"
        "openstack:mq-secret@rabbit2.example.org:5673,"
        "openstack:mq-secret@rabbit3.example.org:5672/openstack"
    )
    assert not api.has_option("DEFAULT", "rabbit_hosts")
    # Bounded, so a new connection tries the next member (see inifiles.jinja).
    assert api.get("oslo_messaging_notifications", "retry") == "3"


@pytest.mark.parametrize("version, retry", [("ocata", None), ("pike", "3"), ("zed", "3")])
def test_notification_retry_with_members_from_pike(render, version, retry):
    pillar = load_pillar("rabbitmq_ha")
    pillar["glance"]["server"]["version"] = version
    notifications = options(render("debian-12", pillar).ini(API), "oslo_messaging_notifications")
    assert notifications["driver"] == "messagingv2"
    assert notifications.get("retry") == retry


def test_notification_retry_bounded_with_one_host(render):
    """Else a notification to a RabbitMQ that is down holds the API request for ever."""
    api = render("debian-12", load_pillar("single")).ini(API)
    assert options(api, "oslo_messaging_notifications") == {"driver": "messagingv2", "retry": "1"}


def test_seed_region_on_kilo(render):
    api = render("debian-12", load_pillar("seed_region")).ini(API)
    assert_section(api, "keystone_authtoken", {
        "auth_uri": "http://127.0.0.1:5000",
        "auth_url": "http://127.0.0.1:5000",
        "auth_plugin": "password",
        "project_domain_id": "default",
        "user_domain_id": "default",
        "project_name": "service",
        "username": "glance",
        "password": "pwd",
        "region_name": "RegionTwo",
    })
    assert_section(api, "database", {"connection": "sqlite:////var/lib/glance/glance.sqlite"})


def test_seed_ceph_writes_keyring_and_rbd_store(render):
    rendered = render("debian-12", load_pillar("seed_ceph"))
    api = rendered.ini(API)
    assert_section(api, "glance_store", {
        "default_store": "rbd",
        "stores": "rbd,http",
        "rbd_store_ceph_conf": "/etc/ceph/ceph.conf",
        "rbd_store_user": "glance",
        "rbd_store_pool": "images",
        "rbd_store_chunk_size": "8",
    })
    files = rendered.managed_files()
    keyring = "/etc/ceph/ceph.client.glance.keyring"
    assert rendered.text(keyring).split() == [
        "[client.glance]", "key", "=", "AQDOavlU6BsSJhAAnpFR906mvdgdfRqLHwu0Uw=="]
    assert files[keyring][1]["show_changes"] is False
    # No monitor hosts in the pillar: ceph.conf is another formula's.
    assert "/etc/ceph/ceph.conf" not in files


def test_ceph_scenario(render, platform):
    rendered = render(platform, load_pillar("ceph"))
    api = rendered.ini(API)
    assert api.get("DEFAULT", "enabled_backends") == "rbd:rbd"
    assert api.get("DEFAULT", "show_image_direct_url") == "true"
    assert_section(api, "glance_store", {"default_backend": "rbd"})
    assert_section(api, "rbd", {
        "rbd_store_ceph_conf": "/etc/ceph/ceph.conf",
        "rbd_store_user": "glance-images",
        "rbd_store_pool": "images",
        "rbd_store_chunk_size": "16",
    })
    assert api.get("database", "connection") == "postgresql+psycopg2://glance:pg-secret@pg.example.org:5432/glance"
    assert api.get("keystone_authtoken", "www_authenticate_uri") == "https://keystone.example.org:5000"
    assert api.get("keystone_authtoken", "auth_url") == "https://keystone.example.org:5000"
    assert api.get("keystone_authtoken", "cafile") == "/etc/ssl/certs/keystone-ca.pem"
    ceph = rendered.ini("/etc/ceph/ceph.conf")
    assert_section(ceph, "global", {"mon_host": "10.0.0.11,10.0.0.12", "auth_client_required": "cephx"})
    # Bounded waits for the store's client only (ceph:op_timeout, 60 s by default).
    assert_section(ceph, "client.glance-images", {
        "client_mount_timeout": "60", "rados_mon_op_timeout": "60", "rados_osd_op_timeout": "60"})
    assert sorted(ceph.sections()) == ["client.glance-images", "global"]
    assert "key = AQBvaBFZAAAAABAA9VHgwCgAUOwTkhM2oqGG0g==" in rendered.text(
        "/etc/ceph/ceph.client.glance-images.keyring")


def test_ceph_op_timeout_zero_leaves_ceph_waiting(render):
    pillar = load_pillar("ceph")
    pillar["glance"]["server"]["ceph"]["op_timeout"] = 0
    ceph = render("debian-12", pillar).ini("/etc/ceph/ceph.conf")
    assert ceph.sections() == ["global"]


def test_ceph_op_timeout_given(render):
    pillar = load_pillar("ceph")
    pillar["glance"]["server"]["ceph"]["op_timeout"] = 300
    ceph = render("debian-12", pillar).ini("/etc/ceph/ceph.conf")
    assert options(ceph, "client.glance-images") == {
        "client_mount_timeout": "300", "rados_mon_op_timeout": "300", "rados_osd_op_timeout": "300"}


def test_noauth_with_cache_and_database_tls(render, platform):
    rendered = render(platform, load_pillar("noauth"))
    api = rendered.ini(API)
    assert_section(api, "paste_deploy", {"flavor": "caching"})
    assert_no_section(api, "keystone_authtoken")
    assert api.get("database", "connection") == (
        "mysql+pymysql://images:images-db@db.example.org:3306/images"
        "?charset=utf8&ssl_ca=/etc/ssl/certs/db-ca.pem")
    assert api.get("DEFAULT", "image_cache_dir") == "/var/lib/glance/image-cache"
    assert api.get("DEFAULT", "image_cache_max_size") == "21474836480"
    assert not api.has_option("DEFAULT", "image_cache_stall_time")
    assert '"publicize_image": "role:admin"' in rendered.text("/etc/glance/policy.yaml")


def test_multistore(render, platform):
    rendered = render(platform, load_pillar("multistore"))
    api = rendered.ini(API)
    assert api.get("DEFAULT", "enabled_backends") == "local:file,ceph:rbd,web:http,volumes:cinder"
    # Stores to copy between: copy-image among the import methods.
    assert api.get("DEFAULT", "enabled_import_methods") == "['glance-direct', 'web-download', 'copy-image']"
    assert_section(api, "glance_store", {"default_backend": "ceph"})
    assert_section(api, "local", {
        "filesystem_store_datadir": "/srv/glance/images",
        "store_description": "Local disk",
        "weight": "10",
    })
    assert_section(api, "ceph", {
        "rbd_store_ceph_conf": "/etc/ceph/ceph.conf",
        "rbd_store_pool": "images",
        "rbd_store_user": "glance",
        "rbd_thin_provisioning": "true",
    })
    assert_section(api, "web", {})
    assert_section(api, "volumes", {"cinder_volume_type": "glance", "cinder_catalog_info": "volumev3::internalURL"})
    assert api.get("DEFAULT", "transport_url") == "rabbit://glance:mq-secret@rabbit.example.org:5671/%2F"
    assert_section(api, "oslo_messaging_rabbit", {"ssl": "true", "ssl_ca_file": "/etc/ssl/certs/rabbit-ca.pem"})
    # The raw override removed topics and added debug.
    assert_section(api, "oslo_messaging_notifications", {"driver": "messagingv2", "retry": "1"})
    assert api.get("DEFAULT", "debug") == "true"
    authtoken = options(api, "keystone_authtoken")
    assert authtoken["memcached_servers"] == "10.0.0.21:11211,10.0.0.22:11212"
    assert authtoken["memcache_security_strategy"] == "MAC"
    assert authtoken["memcache_secret_key"] == "mem$$ecret"
    files = rendered.managed_files()
    assert "/etc/ceph/ceph.conf" not in files  # manage_conf: false
    assert "/etc/ceph/ceph.client.glance.keyring" in files
    directories = [args["name"] for state_id in rendered.states
                   for module, function, args in [rendered.function(state_id)]
                   if (module, function) == ("file", "directory")]
    assert "/srv/glance/images" in directories
    assert "/var/lib/glance/staging" in directories


def test_notification_topics_and_disable(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["notification"] = {"topics": "notifications,audit"}
    api = render("debian-12", pillar).ini(API)
    assert_section(api, "oslo_messaging_notifications",
                   {"driver": "messagingv2", "topics": "notifications,audit", "retry": "1"})
    pillar["glance"]["server"]["notification"] = False
    api = render("debian-12", pillar).ini(API)
    assert_no_section(api, "oslo_messaging_notifications")
    assert api.has_option("DEFAULT", "transport_url")


def test_raw_override_adds_changes_and_removes(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["config"] = {
        "glance-api.conf": {
            "DEFAULT": {"workers": 6, "debug": True, "bind_port": None},
            "oslo_policy": {"enforce_new_defaults": True},
            "oslo_messaging_notifications": None,
        },
    }
    api = render("debian-12", pillar).ini(API)
    assert api.get("DEFAULT", "workers") == "6"
    assert api.get("DEFAULT", "debug") == "true"
    assert not api.has_option("DEFAULT", "bind_port")
    assert_section(api, "oslo_policy", {"enforce_new_defaults": "true"})
    assert_no_section(api, "oslo_messaging_notifications")


def test_memcached_and_keystone_tls_absent_unless_set(render):
    pillar = load_pillar("single")
    del pillar["glance"]["server"]["cache"]
    authtoken = options(render("debian-12", pillar).ini(API), "keystone_authtoken")
    for key in ["memcached_servers", "memcache_security_strategy", "cafile", "auth_uri", "auth_plugin"]:
        assert key not in authtoken, key


def test_memcached_over_tls_from_2025_2(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["version"] = "2025.2"
    pillar["glance"]["server"]["cache"]["ssl"] = {"enabled": True, "cacert_file": "/etc/ssl/certs/mc-ca.pem"}
    rendered = render("debian-13", pillar)
    authtoken = options(rendered.ini(API), "keystone_authtoken")
    assert authtoken["memcache_tls_enabled"] == "true"
    assert authtoken["memcache_tls_cafile"] == "/etc/ssl/certs/mc-ca.pem"
    # keystonemiddleware speaks TLS only through the advanced pool.
    assert authtoken["memcache_use_advanced_pool"] == "true"
    assert "python3-binary-memcached" in rendered.function("glance-server-install-pkg-installed")[2]["pkgs"]
    # Without the switch: none of it.
    del pillar["glance"]["server"]["cache"]["ssl"]
    rendered = render("debian-13", pillar)
    authtoken = options(rendered.ini(API), "keystone_authtoken")
    for key in ["memcache_tls_enabled", "memcache_tls_cafile", "memcache_use_advanced_pool"]:
        assert key not in authtoken, key
    assert "python3-binary-memcached" not in rendered.function("glance-server-install-pkg-installed")[2]["pkgs"]


def test_cluster_lists_memcached_and_members(render):
    api = render("debian-13", load_pillar("cluster")).ini(API)
    assert api.get("keystone_authtoken", "memcached_servers") == "controller:11211"
    assert api.get("DEFAULT", "transport_url") == (
        "rabbit://openstack:Cluster%24mq%40pw@controller:5672,"
        "openstack:Cluster%24mq%40pw@controller:5673/%2Fopenstack")
    assert api.get("keystone_authtoken", "region_name") == "RegionOne"


def test_enable_v1_api_on_queens(render):
    pillar = {"glance": {"server": {"version": "queens", "enable_v1_api": False}}}
    api = render("debian-12", pillar).ini(API)
    assert api.get("DEFAULT", "enable_v1_api") == "false"
    assert api.get("DEFAULT", "registry_host") == "127.0.0.1"


def test_rabbitmq_tls_before_pike(render):
    pillar = load_pillar("seed_juno")
    pillar["glance"]["server"]["version"] = "ocata"
    pillar["glance"]["server"]["message_queue"]["ssl"] = {"enabled": True, "cacert_file": "/etc/ca.pem"}
    api = render("debian-12", pillar).ini(API)
    rabbit = options(api, "oslo_messaging_rabbit")
    assert rabbit["rabbit_use_ssl"] == "true"
    assert rabbit["kombu_ssl_ca_certs"] == "/etc/ca.pem"
    assert rabbit["rabbit_host"] == "127.0.0.1"
    assert "ssl" not in rabbit
    assert api.get("oslo_messaging_notifications", "driver") == "messagingv2"


def test_image_cache_management_flavor(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["image_cache"] = {
        "enable_management": True, "directory": "/srv/cache", "stall_time": 600}
    api = render("debian-12", pillar).ini(API)
    assert_section(api, "paste_deploy", {"flavor": "keystone+cachemanagement"})
    assert api.get("DEFAULT", "image_cache_dir") == "/srv/cache"
    assert api.get("DEFAULT", "image_cache_stall_time") == "600"
    assert not api.has_option("DEFAULT", "image_cache_max_size")


def test_the_cache_utilities_get_the_same_options_in_their_own_file(render):
    """glance-cache.conf: read alone by the pruner and cleaner up to 2023.2,
    after glance-api.conf from 2024.1 (so it must not hold stale values)."""
    pillar = load_pillar("single")
    pillar["glance"]["server"]["image_cache"] = {"enabled": True, "max_size": 1024, "stall_time": 60}
    rendered = render("debian-12", pillar)
    cache = rendered.ini("/etc/glance/glance-cache.conf")
    assert dict(cache.items("DEFAULT")) == {"image_cache_dir": "/var/lib/glance/image-cache",
                                            "image_cache_max_size": "1024", "image_cache_stall_time": "60"}
    assert cache.sections() == ["DEFAULT"]
    _, _, managed = rendered.function("glance-server-config-cache-file-managed")
    assert (managed["user"], managed["group"], managed["mode"]) == ("root", "glance", "0640")
    assert "/etc/glance/glance-cache.conf" not in render("debian-12", load_pillar("cluster")).managed_files()


def test_assert_section_fails_for_a_missing_section():
    parser = configparser.ConfigParser(default_section="__no_default__")
    parser.read_string("[present]\n")
    assert_section(parser, "present", {})
    with pytest.raises(AssertionError):
        assert_section(parser, "absent", {})


BLOCKED_ALWAYS = ["0.0.0.0", "127.0.0.1", "169.254.169.254", "::", "::1", "fe80::a9fe:a9fe", "localhost"]


def test_web_download_refused_the_control_plane_by_default(render, platform):
    api = render(platform, load_pillar("multistore")).ini(API)
    # The metadata service, loopback and every service host the pillar names.
    assert_section(api, "import_filtering_opts", {
        "allowed_schemes": "[http, https]",
        "allowed_ports": "[80, 443]",
        "disallowed_hosts": "[" + ", ".join(sorted(
            BLOCKED_ALWAYS + ["10.0.0.21", "10.0.0.22", "keystone.example.org", "rabbit.example.org"])) + "]",
    })


def test_web_download_blocks_the_ceph_monitors_and_this_hosts_addresses(render):
    pillar = load_pillar("single_ceph")
    pillar["glance"]["server"]["ceph"]["mon_host"] = ["[v2:10.1.0.1:3300/0,v1:10.1.0.1:6789/0]", "mon2:6789",
                                                      "[2001:db8::7]:6789"]
    pillar["glance"]["server"]["bind"] = {"address": "10.2.0.9", "port": 9292}
    api = render("debian-12", pillar).ini(API)
    blocked = api.get("import_filtering_opts", "disallowed_hosts").strip("[]").split(", ")
    for host in ["10.1.0.1", "mon2", "2001:db8::7", "10.2.0.9", *BLOCKED_ALWAYS]:
        assert host in blocked, host


def test_web_download_filtering_and_methods_from_the_pillar(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["import"] = {
        "methods": ["glance-direct"],
        "filtering": {"allowed_schemes": ["https"], "disallowed_hosts": ["10.9.9.9", "Internal.Example.org"],
                      "allowed_ports": [443, 8443], "disallowed_ports": [22]},
    }
    api = render("debian-12", pillar).ini(API)
    assert api.get("DEFAULT", "enabled_import_methods") == "['glance-direct']"
    filtering = options(api, "import_filtering_opts")
    assert (filtering["allowed_schemes"], filtering["allowed_ports"], filtering["disallowed_ports"]) == \
        ("[https]", "[443, 8443]", "[22]")
    # The pillar's hosts are added to the formula's, as Glance compares them.
    blocked = filtering["disallowed_hosts"].strip("[]").split(", ")
    assert {"10.9.9.9", "internal.example.org", "169.254.169.254"} <= set(blocked)
    assert "allowed_hosts" not in filtering and "disallowed_schemes" not in filtering


def test_no_import_method_without_keystone(render):
    """Without Keystone an import task has no project to be filed under:
    none is enabled, so none is advertised."""
    api = render("debian-13", {}).ini(API)
    assert api.get("DEFAULT", "enabled_import_methods") == "[]"
    noauth = render("debian-13", {"glance": {"server": {"import": {"methods": []}}}}).ini(API)
    assert noauth.get("DEFAULT", "enabled_import_methods") == "[]"


def test_an_allowlist_of_hosts_replaces_the_blocklist(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["import"] = {"filtering": {"allowed_hosts": ["mirror.example.org", "2001:DB8:0::5"]}}
    api = render("debian-12", pillar).ini(API)
    filtering = options(api, "import_filtering_opts")
    # Glance obeys only the allowlist when both are given: the formula
    # writes only it.
    assert filtering["allowed_hosts"] == "[mirror.example.org, 2001:db8::5]"
    assert "disallowed_hosts" not in filtering


def test_no_import_options_before_queens(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["version"] = "pike"
    pillar["glance"]["server"].pop("limits")  # unified limits came with Xena
    api = render("debian-12", pillar).ini(API)
    assert_no_section(api, "import_filtering_opts")
    assert not api.has_option("DEFAULT", "enabled_import_methods")


def test_disallowed_schemes_from_the_pillar(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["import"] = {"filtering": {"allowed_schemes": None, "disallowed_schemes": ["http"]}}
    filtering = options(render("debian-12", pillar).ini(API), "import_filtering_opts")
    assert filtering["disallowed_schemes"] == "[http]"
    assert "allowed_schemes" not in filtering


def test_cors_and_proxy_headers_land_in_their_sections(render, platform):
    pillar = {"glance": {"server": {
        "behind_proxy": True,
        "cors": {"allowed_origin": ["https://dash.example.com", "https://ops.example.com:8443"],
                 "allow_credentials": True, "max_age": 600, "expose_headers": ["X-Image-Meta-Checksum"]}}}}
    api = render(platform, pillar).ini(API)
    assert_section(api, "cors", {
        "allowed_origin": "https://dash.example.com,https://ops.example.com:8443",
        "allow_credentials": "true",
        "max_age": "600",
        "expose_headers": "X-Image-Meta-Checksum",
    })
    assert_section(api, "oslo_middleware", {"enable_proxy_headers_parsing": "true"})


PROTECTIONS = "/etc/glance/property-protections.conf"


def test_property_protections_keep_the_pillars_order_and_close_with_an_open_rule(render, platform):
    rules = [
        {"property": "^x_owner_.*", "create": ["admin"], "read": ["@"], "update": ["admin"], "delete": ["!"]},
        {"property": "^x_billing_code$", "create": ["admin", "billing"], "read": ["admin", "member"],
         "update": ["admin"], "delete": []},
    ]
    rendered = render(platform, {"glance": {"server": {"property_protection": {"rules": rules}}}})
    api = rendered.ini(API)
    assert api.get("DEFAULT", "property_protection_file") == PROTECTIONS
    assert api.get("DEFAULT", "property_protection_rule_format") == "roles"
    protections = rendered.ini(PROTECTIONS)
    assert protections.sections() == ["^x_owner_.*", "^x_billing_code$", ".*"]
    assert_section(protections, "^x_billing_code$", {"create": "admin,billing", "read": "admin,member",
                                                     "update": "admin", "delete": ""})
    assert_section(protections, ".*", {"create": "@", "read": "@", "update": "@", "delete": "@"})


def test_property_protections_with_the_pillars_own_last_rule_and_policies(render):
    rules = [{"property": "^x_billing_code$", "create": ["billing_admin"], "read": ["@"],
              "update": ["billing_admin"], "delete": ["!"]},
             {"property": ".*", "create": ["default"], "read": ["default"], "update": ["default"],
              "delete": ["default"]}]
    rendered = render("debian-12", {"glance": {"server": {
        "property_protection": {"format": "policies", "rules": rules}}}})
    assert rendered.ini(API).get("DEFAULT", "property_protection_rule_format") == "policies"
    protections = rendered.ini(PROTECTIONS)
    assert protections.sections() == ["^x_billing_code$", ".*"]
    assert_section(protections, ".*", {"create": "default", "read": "default", "update": "default",
                                       "delete": "default"})


def test_each_node_names_itself_for_a_proxied_import(render):
    """One pillar for every API node: {minion} becomes the node's id."""
    pillar = load_pillar("cluster")
    rendered = render("debian-13", pillar)
    assert pillar["glance"]["server"]["worker_self_reference_url"] == "https://{minion}:9292"
    api = rendered.ini(API)
    assert api.get("DEFAULT", "worker_self_reference_url") == f"https://{rendered.minion_id}:9292"


def test_no_proxied_import_unless_the_pillar_asks(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["image_cache"] = {"enabled": False}
    assert not render("debian-13", pillar).ini(API).has_option("DEFAULT", "worker_self_reference_url")


def test_the_centralized_image_cache_gets_a_node_url_where_the_pillar_has_none(render):
    """From 2024.1 the cache's centralized_db driver records each cached
    image under worker_self_reference_url: without one, caching fails."""
    pillar = load_pillar("single")
    pillar["glance"]["server"]["image_cache"] = {"enabled": True}
    for version, written in [("2023.2", False), ("2024.1", True), ("2026.2", True)]:
        rendered = render("debian-13", with_version(pillar, version))
        api = rendered.ini(API)
        assert api.has_option("DEFAULT", "worker_self_reference_url") is written, version
        if written:
            assert api.get("DEFAULT", "worker_self_reference_url") == f"http://{rendered.minion_id}:9292"
