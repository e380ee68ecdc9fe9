"""What the states do, by role and switch: one-time actions on the primary
only, a secondary that waits for the schema, services that restart on
configuration changes, and the switch that skips services."""
from saltrender import load_pillar

# As the glance user, through runuser (not runas: see glance/server/db.sls).
MANAGE = "runuser -u glance -- glance-manage --config-file /etc/glance/glance-api.conf"


def test_primary_syncs_guarded_and_loads_metadefs_once(render):
    rendered = render("debian-12", load_pillar("cluster"))
    _, function, sync = rendered.function("glance-server-db-sync-cmd-run")
    assert function == "run"
    assert sync["name"] == f"{MANAGE} db_sync"
    assert sync["unless"] == f"{MANAGE} db check"
    assert "runas" not in sync
    _, _, metadefs = rendered.function("glance-server-db-load-metadefs-cmd-run")
    assert metadefs["name"] == f"{MANAGE} db_load_metadefs /etc/glance/metadefs"
    assert metadefs["onchanges"] == [{"cmd": "glance-server-db-sync-cmd-run"}]
    assert "glance-server-db-wait-for-schema-cmd-run" not in rendered.states


def test_secondary_never_syncs_and_waits_for_the_schema(render):
    pillar = load_pillar("cluster")
    pillar["glance"]["server"].update(load_pillar("cluster_secondary")["glance"]["server"])
    rendered = render("debian-12", pillar)
    assert "glance-server-db-sync-cmd-run" not in rendered.states
    assert "glance-server-db-load-metadefs-cmd-run" not in rendered.states
    _, _, wait = rendered.function("glance-server-db-wait-for-schema-cmd-run")
    assert wait["name"] == wait["unless"] == f"{MANAGE} db check"
    assert wait["retry"] == {"attempts": 90, "interval": 10, "until": True}
    _, _, service = rendered.function("glance-server-service-glance-api-running")
    assert {"sls": "glance.server.db"} in service["require"]


def test_services_restart_on_config_and_start_after_db(render):
    rendered = render("debian-12", load_pillar("single"))
    module, function, service = rendered.function("glance-server-service-glance-api-running")
    assert (module, function) == ("service", "running")
    assert service["enable"] is True
    assert {"sls": "glance.server.config"} in service["watch"]
    assert {"sls": "glance.server.storage"} in service["watch"]


def test_services_stay_stopped_from_installation_until_started_configured(render):
    for platform, service, package in [("debian-12", "glance-api", "glance-api"),
                                       ("rocky-9", "openstack-glance-api", "openstack-glance")]:
        rendered = render(platform, load_pillar("single"))
        module, function, mask = rendered.function(
            f"glance-server-install-{service}-service-masked-until-configured")
        assert (module, function) == ("service", "masked")
        assert (mask["name"], mask["runtime"]) == (service, True)
        # Only on a host without the package: a re-run has nothing to mask.
        assert mask["unless"] == [{"fun": "pkg.version", "args": [package]}]
        assert mask["require_in"] == [{"pkg": "glance-server-install-pkg-installed"}]
        _, _, running = rendered.function(f"glance-server-service-{service}-running")
        assert (running["unmask"], running["unmask_runtime"]) == (True, True)


def test_registry_is_kept_stopped_too_on_old_releases(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["version"] = "queens"
    rendered = render("debian-12", pillar)
    _, _, mask = rendered.function("glance-server-install-glance-registry-service-masked-until-configured")
    assert mask["unless"] == [{"fun": "pkg.version", "args": ["glance-registry"]}]


def test_manage_services_false_skips_services_and_database_actions(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["manage_services"] = False
    rendered = render("debian-12", pillar)
    assert not [s for s in rendered.states if s.startswith("glance-server-service-glance")]
    assert not [s for s in rendered.states if "masked-until-configured" in s]
    assert not [s for s in rendered.states if s.startswith("glance-server-db-") and "skipped" not in s]
    assert "glance-server-config-api-file-managed" in rendered.states


def test_disabled_server_changes_nothing(render):
    rendered = render("debian-12", {"glance": {"server": {"enabled": False}}})
    assert list(rendered.states) == ["glance-server-disabled-test-nop"]


def test_parts_apply_on_their_own(render):
    for part in ["install", "config", "storage", "db", "service"]:
        rendered = render("debian-12", load_pillar("single"), sls=f"glance.server.{part}")
        assert any(state_id.startswith(f"glance-server-{part}") for state_id in rendered.states), part
