"""Every scenario pillar renders on every platform, and what it writes is
well-formed and private: the invariants that hold whatever the pillar."""
import re
import urllib.parse

import pytest

from saltrender import PLATFORMS, load_pillar, merged

# Scenario -> the pillar files it stacks, in order (as the suites do: the
# secondary's file only changes the role of the cluster's pillar).
SCENARIOS = {
    "standalone": ["standalone"],
    "single": ["single"],
    "single_ceph": ["single_ceph"],
    "cluster": ["cluster"],
    "cluster_secondary": ["cluster", "cluster_secondary"],
    "seed_juno": ["seed_juno"],
    "seed_rabbitmq_ha": ["seed_rabbitmq_ha"],
    "seed_region": ["seed_region"],
    "seed_ceph": ["seed_ceph"],
    "noauth": ["noauth"],
    "ceph": ["ceph"],
    "multistore": ["multistore"],
    "rabbitmq_ha": ["rabbitmq_ha"],
    "pillar.example": ["pillar.example"],
}
SUPPORTED = [name for name, grains in PLATFORMS.items() if grains["os_family"] != "Arch"]
SECRET_KEY = re.compile(r"(password|passwd|secret|token|_key)$", re.I)
# Secrets the server's files never hold: the seeding state's own connection.
NOT_IN_FILES = ("image_seeding",)


def scenario_pillar(scenario):
    pillar = {}
    for name in SCENARIOS[scenario]:
        pillar = merged(pillar, load_pillar(name))
    return pillar


def secrets(node, skip=()):
    """Every value of a secret-looking key (password, secret_key,
    client_glance_key, admin_password...), subtrees named in SKIP left out."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in skip:
                continue
            if isinstance(value, (str, int)) and not isinstance(value, bool) and SECRET_KEY.search(str(key)):
                found.add(str(value))
            found |= secrets(value, skip)
    elif isinstance(node, list):
        for item in node:
            found |= secrets(item, skip)
    return found


def written_forms(secret):
    """How a secret can appear in a file: as it is, URL-quoted (database
    and transport URLs) or with oslo.config's $ escaped as $$."""
    return {secret, secret.replace("$", "$$"), urllib.parse.quote(secret, safe=""),
            urllib.parse.quote(secret, safe="/")}


def file_text(rendered, path, args, pillar):
    """What a file.managed state writes: its contents, the pillar value it
    names (contents_pillar), or its rendered template."""
    if "contents_pillar" in args:
        value = pillar
        for key in args["contents_pillar"].split(":"):
            value = value[key]
        return value
    return args["contents"] if "contents" in args else rendered.text(path)


@pytest.mark.parametrize("platform", SUPPORTED)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_renders_private_well_formed_files(render, scenario, platform):
    pillar = scenario_pillar(scenario)
    rendered = render(platform, pillar)
    files = rendered.managed_files()
    assert any(path.endswith("glance-api.conf") for path in files)
    server_secrets = secrets(pillar.get("glance", {}).get("server", {}), skip=NOT_IN_FILES)
    seen = set()
    for path, (_, args) in files.items():
        if path.startswith(("/etc/glance/", "/etc/ceph/")):
            assert (args["user"], args["group"], args["mode"]) == ("root", "glance", "0640"), path
        if path.endswith((".conf", ".ini")):
            parser = rendered.ini(path)
            assert parser.sections(), path
        text = file_text(rendered, path, args, pillar)
        held = {secret for secret in secrets(pillar) if any(form in text for form in written_forms(secret))}
        if held:
            assert args.get("show_changes") is False, f"{path} holds a secret but shows its diff"
        seen |= held
    # Every secret the server's files are given is found in one of them, so
    # the check above cannot silently look for the wrong text.
    assert server_secrets <= seen, f"secrets found in no file: {len(server_secrets - seen)}"


def test_every_scenario_with_secrets_is_checked():
    """The scenarios meant to carry secrets do carry them (a pillar file
    that loses them would leave the check above with nothing to find)."""
    without = [name for name in SCENARIOS
               if not secrets(scenario_pillar(name).get("glance", {}).get("server", {}), skip=NOT_IN_FILES)]
    assert without == ["standalone"]


def test_secrets_are_found_in_their_written_forms():
    pillar = {"glance": {"server": {"database": {"password": "a$b@c/d"}, "storage": {"client_glance_key": "AQD=="},
                                    "cache": {"security": {"secret_key": "k$y"}}, "workers": 4,
                                    "image_seeding": {"connection": {"password": "seed"}}},
                         "bootstrap": {"identity": {"admin_password": "adm"}}}}
    assert secrets(pillar) == {"a$b@c/d", "AQD==", "k$y", "seed", "adm"}
    assert secrets(pillar["glance"]["server"], skip=NOT_IN_FILES) == {"a$b@c/d", "AQD==", "k$y"}
    assert {"a$$b@c/d", "a%24b%40c%2Fd", "a%24b%40c/d"} <= written_forms("a$b@c/d")


@pytest.mark.parametrize("platform", SUPPORTED)
def test_every_state_id_is_explicit_and_namespaced(render, platform):
    rendered = render(platform, load_pillar("single"))
    for state_id in rendered.states:
        assert state_id.startswith("glance-"), state_id
