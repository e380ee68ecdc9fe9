"""OSSN-0090's internal glance-api (glance:server:internal_api), for the
releases before the location API: what it writes, its unit and service,
and nothing when it is off. Its refusals are in test_validation.py."""
import pytest

from saltrender import load_pillar

API = "/etc/glance/glance-api.conf"
INTERNAL = "/etc/glance/glance-api-internal.conf"
UNIT = "/etc/systemd/system/glance-api-internal.service"
ON = {"enabled": True, "address": "10.0.0.5", "port": 9293}


def single_ceph(internal_api=None, **server):
    """The single-ceph suite's pillar with the locations left to an internal
    API (or INTERNAL_API as given)."""
    pillar = load_pillar("single_ceph")
    keys = {"show_image_direct_url": False, "internal_api": ON if internal_api is None else internal_api}
    pillar["glance"]["server"].update(keys, **server)
    return pillar


# The platforms whose packages predate the location API (2024.2).
@pytest.fixture(params=["debian-12", "ubuntu-22.04", "ubuntu-24.04"])
def platform(request):
    return request.param


def test_the_internal_api_shows_the_locations_the_public_one_hides(render, platform):
    rendered = render(platform, single_ceph())
    internal = rendered.ini(INTERNAL)
    assert {s: dict(internal.items(s)) for s in internal.sections()} == {
        "DEFAULT": {"bind_host": "10.0.0.5", "bind_port": "9293",
                    "show_image_direct_url": "true", "show_multiple_locations": "true"},
        "paste_deploy": {"config_file": "/etc/glance/glance-api-paste.ini"},
    }
    api = rendered.ini(API)
    assert api.get("DEFAULT", "show_image_direct_url") == "false"
    assert not api.has_option("DEFAULT", "show_multiple_locations")
    assert api.get("DEFAULT", "bind_port") == "9292"
    _, _, managed = rendered.function("glance-server-config-api_internal-file-managed")
    assert (managed["user"], managed["group"], managed["mode"]) == ("root", "glance", "0640")


def test_its_unit_runs_the_eventlet_server_on_both_files(render, platform):
    rendered = render(platform, single_ceph())
    unit = rendered.text(UNIT)
    assert ("ExecStart=/usr/bin/glance-api --config-file=/etc/glance/glance-api.conf "
            "--config-file=/etc/glance/glance-api-internal.conf "
            "--log-file=/var/log/glance/glance-api-internal.log") in unit.splitlines()
    assert "User=glance" in unit.splitlines()
    _, function, running = rendered.function("glance-server-service-glance-api-internal-running")
    assert function == "running" and running["enable"] is True
    assert {"sls": "glance.server.config"} in running["watch"]
    assert {"sls": "glance.server.db"} in running["require"]


def test_off_by_default_and_nothing_to_remove_on_a_host_without_it(render):
    rendered = render("debian-12", load_pillar("single_ceph"))
    assert INTERNAL not in rendered.managed_files() and UNIT not in rendered.managed_files()
    assert not [s for s in rendered.states if "internal" in s]
