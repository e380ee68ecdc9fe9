"""What the states do, by role and switch: one-time actions on the primary
only, a secondary that waits for the schema, services that restart on
configuration changes, and the switch that skips services."""
from saltrender import load_pillar

# As the glance user, through runuser (not runas: see glance/server/db.sls).
MANAGE = "runuser -u glance -- /usr/bin/glance-manage --config-file /etc/glance/glance-api.conf"
# glance_db's arguments (_states/glance_db.py): the schema check runs as the
# glance user with Glance's Python on the file glance-manage reads.
SCHEMA = {"name": "/etc/glance/glance-api.conf", "user": "glance", "python": "/usr/bin/python3",
          "check": "salt://glance/files/schema_current.py", "contract": True}
SYNC = "glance-server-db-schema-glance-db-synced"
GUARD = "glance-server-install-schema-glance-db-not-newer"
WAIT = "glance-server-db-wait-for-schema-glance-db-current"


def test_primary_syncs_guarded_and_loads_metadefs_once(render):
    rendered = render("debian-12", load_pillar("cluster"))
    module, function, sync = rendered.function(SYNC)
    assert (module, function) == ("glance_db", "synced")
    assert {key: sync[key] for key in SCHEMA} == SCHEMA
    # No unless/onlyif: those make Salt load every module once per run.
    assert not {"unless", "onlyif", "creates", "runas"} & set(sync)
    _, _, metadefs = rendered.function("glance-server-db-load-metadefs-cmd-run")
    assert metadefs["name"] == f"{MANAGE} db_load_metadefs /etc/glance/metadefs"
    assert metadefs["onchanges"] == [{"glance_db": SYNC}]
    assert WAIT not in rendered.states


def test_a_rolling_upgrade_leaves_the_contract_on_every_node(render):
    """database:contract false, as glance.orchestrate.upgrade gives it to
    each node's turn: the primary's schema step and a secondary's wait."""
    pillar = load_pillar("cluster")
    pillar["glance"]["server"]["database"]["contract"] = False
    assert render("debian-13", pillar).function(SYNC)[2]["contract"] is False
    pillar["glance"]["server"].update(load_pillar("cluster_secondary")["glance"]["server"])
    assert render("debian-13", pillar).function(WAIT)[2]["contract"] is False


def test_secondary_never_syncs_and_waits_for_the_schema(render):
    pillar = load_pillar("cluster")
    pillar["glance"]["server"].update(load_pillar("cluster_secondary")["glance"]["server"])
    rendered = render("debian-12", pillar)
    assert SYNC not in rendered.states
    assert "glance-server-db-load-metadefs-cmd-run" not in rendered.states
    module, function, wait = rendered.function(WAIT)
    assert (module, function) == ("glance_db", "current")
    assert {key: wait[key] for key in SCHEMA} == SCHEMA
    assert wait["retry"] == {"attempts": 90, "interval": 10, "until": True}
    _, _, service = rendered.function("glance-server-service-glance-api-running")
    assert {"sls": "glance.server.db"} in service["require"]


def test_the_db_state_is_synced_before_its_first_use(render):
    # This machine's minion cache has no synced glance_db: the sync renders,
    # before the guard (its first use) and so before the schema states.
    rendered = render("debian-12", load_pillar("cluster"))
    _, function, sync_all = rendered.function("glance-server-install-saltutil-sync-all")
    assert function == "sync_all" and sync_all["reload_modules"] is True
    _, _, guard = rendered.function(GUARD)
    assert {"saltutil": "glance-server-install-saltutil-sync-all"} in guard["require"]
    _, _, sync = rendered.function(SYNC)
    assert {"sls": "glance.server.config"} in sync["require"]


def test_an_older_release_is_refused_before_its_configuration_is_written(render):
    """The guard asks about the database the new configuration names, once
    the release is installed; the configuration (glance.server.config
    requires the whole install SLS) and the PyPI paste file wait for it."""
    rendered = render("debian-12", load_pillar("single"))
    module, function, guard = rendered.function(GUARD)
    assert (module, function) == ("glance_db", "not_newer")
    # Asked once per run, before anything that serves changes.
    assert [sid for sid in rendered.states if "not_newer" in rendered.states[sid].get("glance_db", [])] == [GUARD]
    db = load_pillar("single")["glance"]["server"]["database"]
    assert guard["connection"].startswith(f"mysql+pymysql://{db['user']}:")
    assert guard["connection"].endswith(f"@{db['host']}:{db['port']}/{db['name']}?charset=utf8")
    assert "glance-server-install-pkg-installed" in guard["require"]
    assert {"sls": "glance.server.install"} in rendered.function("glance-server-config-api-file-managed")[2]["require"]
    pillar = load_pillar("pypi")
    # 2024.1 has no TLS to memcached (the suite's memcached speaks only that).
    pillar["glance"]["server"].update(version="2024.1", install={"method": "pypi", "build": ["netifaces"]})
    del pillar["glance"]["server"]["cache"]
    rendered = render("debian-12", pillar)
    _, _, guard = rendered.function(GUARD)
    assert guard["python"] == "/opt/glance/2024.1/bin/python"
    assert {"glance_venv": "glance-server-install-pypi-venv-installed"} in guard["require"]
    paste = rendered.function("glance-server-install-pypi-paste-file-managed")[2]
    assert {"glance_db": GUARD} in paste["require"]


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
        # The runtime mask only: a persistent-mask check makes Salt log an
        # error about the formula's own unit file in /etc/systemd/system.
        assert ("unmask" not in running, running["unmask_runtime"]) == (True, True)


def test_registry_is_kept_stopped_too_on_old_releases(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["version"] = "queens"
    pillar["glance"]["server"].pop("limits")  # unified limits came with Xena
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


def test_every_file_of_the_config_dir_is_root_glance_0640(render):
    for platform in ("debian-12", "rocky-9"):
        rendered = render(platform, load_pillar("single"))
        module, function, directory = rendered.function("glance-server-config-dir-file-directory")
        assert (module, function) == ("file", "directory")
        assert (directory["name"], directory["user"], directory["group"]) == ("/etc/glance", "root", "glance")
        assert (directory["dir_mode"], directory["file_mode"]) == ("0750", "0640")
        assert directory["recurse"] == ["user", "group", "mode"]


PURGE_UNIT = "/etc/systemd/system/glance-db-purge.service"
PURGE_TIMER = "/etc/systemd/system/glance-db-purge.timer"


def test_the_purge_timer_runs_db_purge_on_the_primary(render):
    rendered = render("debian-13", load_pillar("single"))
    unit = rendered.text(PURGE_UNIT)
    assert ("ExecStart=/usr/bin/glance-manage --config-file /etc/glance/glance-api.conf db purge "
            "--age_in_days 30 --max_rows 1000") in unit
    assert "User=glance" in unit and "Type=oneshot" in unit
    timer = rendered.text(PURGE_TIMER)
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer and "WantedBy=timers.target" in timer
    _, function, running = rendered.function("glance-server-housekeeping-glance-db-purge-timer-running")
    assert (function, running["name"], running["enable"]) == ("running", "glance-db-purge.timer", True)
    assert {"sls": "glance.server.db"} in running["require"]


def test_the_purge_timer_follows_the_pillar_and_the_virtualenv(render):
    pillar = load_pillar("pypi")
    pillar["glance"]["server"]["db_purge"] = {"enabled": True, "age_in_days": 7, "max_rows": -1,
                                              "on_calendar": "*-*-* 03:30"}
    rendered = render("debian-13", pillar)
    assert ("ExecStart=/opt/glance/2026.2/bin/glance-manage --config-file /etc/glance/glance-api.conf db purge "
            "--age_in_days 7 --max_rows -1") in rendered.text(PURGE_UNIT)
    assert "OnCalendar=*-*-* 03:30" in rendered.text(PURGE_TIMER)


def test_no_purge_timer_on_a_secondary_nor_when_off(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["role"] = "secondary"
    for rendered in (render("debian-13", pillar), render("debian-13", load_pillar("cluster"))):
        assert PURGE_UNIT not in rendered.managed_files()
        _, function, absent = rendered.function("glance-server-housekeeping-glance-db-purge-timer-file-absent")
        assert (function, absent["name"]) == ("absent", PURGE_TIMER)
        _, function, dead = rendered.function("glance-server-housekeeping-glance-db-purge-timer-dead")
        assert function == "dead" and dead["prereq"] == [
            {"file": "glance-server-housekeeping-glance-db-purge-timer-file-absent"}]


CACHE_JOBS = ("glance-cache-pruner", "glance-cache-cleaner")


def test_the_cache_timers_run_on_every_api_node_with_the_cache_on(render):
    for name, role in (("single", "primary"), ("cluster", "secondary")):
        pillar = load_pillar(name)
        pillar["glance"]["server"]["role"] = role
        pillar["glance"]["server"]["image_cache"] = {"enabled": True, "pruner_on_calendar": "hourly"}
        rendered = render("debian-13", pillar)
        for job, calendar in zip(CACHE_JOBS, ("hourly", "daily")):
            unit = rendered.text(f"/etc/systemd/system/{job}.service")
            assert (f"ExecStart=/usr/bin/{job} --config-file /etc/glance/glance-api.conf "
                    "--config-file /etc/glance/glance-cache.conf") in unit
            assert "User=glance" in unit and "Type=oneshot" in unit
            assert f"OnCalendar={calendar}" in rendered.text(f"/etc/systemd/system/{job}.timer")
            _, function, running = rendered.function(f"glance-server-housekeeping-{job}-timer-running")
            assert (function, running["name"], running["enable"]) == ("running", f"{job}.timer", True)
            assert {"sls": "glance.server.service"} in running["require"]


def test_the_cache_timers_use_the_virtualenvs_commands(render):
    pillar = load_pillar("pypi")
    pillar["glance"]["server"]["image_cache"] = {"enable_management": True}
    rendered = render("debian-13", pillar)
    assert ("ExecStart=/opt/glance/2026.2/bin/glance-cache-pruner --config-file /etc/glance/glance-api.conf "
            "--config-file /etc/glance/glance-cache.conf") in rendered.text(
                "/etc/systemd/system/glance-cache-pruner.service")


def test_no_cache_timers_nor_cache_file_with_the_cache_off(render):
    rendered = render("debian-13", load_pillar("cluster"))
    assert not any("glance-cache" in path for path in rendered.managed_files())
    for job in CACHE_JOBS:
        _, function, absent = rendered.function(f"glance-server-housekeeping-{job}-timer-file-absent")
        assert (function, absent["name"]) == ("absent", f"/etc/systemd/system/{job}.timer")
        _, function, dead = rendered.function(f"glance-server-housekeeping-{job}-timer-dead")
        assert function == "dead"
        assert dead["prereq"] == [{"file": f"glance-server-housekeeping-{job}-timer-file-absent"}]


def test_the_cache_directories_are_glances(render):
    """Debian's packages leave incomplete/, invalid/ and queue/ root's, where
    the cache's drivers write as the glance user."""
    pillar = load_pillar("single")
    pillar["glance"]["server"]["image_cache"] = {"enabled": True, "directory": "/srv/cache"}
    rendered = render("debian-12", pillar)
    for directory in ("/srv/cache", "/srv/cache/incomplete", "/srv/cache/invalid", "/srv/cache/queue"):
        _, function, made = rendered.function(f"glance-server-storage-{directory}-file-directory")
        assert (function, made["name"], made["user"], made["group"], made["mode"]) == (
            "directory", directory, "glance", "glance", "0750")
    assert rendered.ini("/etc/glance/glance-api.conf").get("DEFAULT", "image_cache_dir") == "/srv/cache"


def test_systemd_reloads_when_a_housekeeping_unit_changes(render):
    """The timer's state reloads systemd for its own unit only: a new command
    in the .service (a move to PyPI) would otherwise run the old one."""
    rendered = render("debian-13", load_pillar("single"))
    for job in ("glance-db-purge",) + CACHE_JOBS:
        _, function, reload = rendered.function(f"glance-server-housekeeping-{job}-systemd-reloaded")
        assert function == "run" and reload["service.systemctl_reload"] == []
        assert reload["onchanges"] == [{"file": f"glance-server-housekeeping-{job}-service-file-managed"},
                                       {"file": f"glance-server-housekeeping-{job}-timer-file-managed"}]
        _, _, running = rendered.function(f"glance-server-housekeeping-{job}-timer-running")
        assert {"module": f"glance-server-housekeeping-{job}-systemd-reloaded"} in running["require"]
