"""Every scenario pillar renders on every platform, and what it writes is
well-formed and private: the invariants that hold whatever the pillar."""
import pytest

from saltrender import PLATFORMS, load_pillar

SCENARIOS = [
    "standalone", "single", "cluster", "cluster_secondary", "seed_juno",
    "seed_rabbitmq_ha", "seed_region", "seed_ceph", "noauth", "ceph",
    "multistore", "rabbitmq_ha", "pillar.example",
]
SUPPORTED = [name for name, grains in PLATFORMS.items() if grains["os_family"] != "Arch"]
SECRET_WORDS = ("pwd", "secret", "$ecret", "Gl@nce", "R4bbit", "AQD", "AQB")


@pytest.mark.parametrize("platform", SUPPORTED)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_renders_private_well_formed_files(render, scenario, platform):
    rendered = render(platform, load_pillar(scenario))
    files = rendered.managed_files()
    assert any(path.endswith("glance-api.conf") for path in files)
    for path, (state_id, args) in files.items():
        if path.startswith(("/etc/glance/", "/etc/ceph/")):
            assert (args["user"], args["group"], args["mode"]) == ("root", "glance", "0640"), path
        if path.endswith((".conf", ".ini")) and not path.endswith(".service"):
            parser = rendered.ini(path)
            assert parser.sections(), path
        text = rendered.text(path) if "context" in args else ""
        if any(word in text for word in SECRET_WORDS):
            assert args.get("show_changes") is False, f"{path} holds a secret but shows its diff"


@pytest.mark.parametrize("platform", SUPPORTED)
def test_every_state_id_is_explicit_and_namespaced(render, platform):
    rendered = render(platform, load_pillar("single"))
    for state_id in rendered.states:
        assert state_id.startswith("glance-"), state_id
