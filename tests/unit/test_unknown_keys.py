"""Unknown pillar keys stop the run at render time, with the key's full path
and the nearest known key. Tested twice: through Salt's own render (the
message a user sees) and on glance/lib/pillar_keys.py's functions alone.
The declaration (glance/parameters/schema.yaml) is kept in step with
glance_image.present and with the README."""
import ast
import re

import pytest
import yaml

from saltrender import REPO, RenderError, load_formula_module, load_pillar, merged

SCHEMA = yaml.safe_load((REPO / "glance" / "parameters" / "schema.yaml").read_text())


pillar_keys = load_formula_module("glance/lib/pillar_keys.py")


def platform_map(os_family):
    parameters = REPO / "glance" / "parameters"
    defaults = yaml.safe_load((parameters / "defaults.yaml").read_text())
    family = yaml.safe_load((parameters / "os_family" / f"{os_family}.yaml").read_text()) or {}
    return merged(defaults, family)


def glance(**keys):
    return {"glance": keys}


def server(**keys):
    return glance(server=keys)


MYSQL = {"engine": "mysql", "host": "db", "password": "pw"}
QUEUE = {"host": "mq", "user": "u", "password": "p"}

# Pillar, and the one line that refuses it.
UNKNOWN = {
    "top-level glance key": (
        glance(servr={"enabled": True}),
        "glance:servr: unknown key (did you mean server?)"),
    "server key": (
        server(imagse=[]),
        "glance:server:imagse: unknown key (did you mean images?)"),
    "nested key": (
        server(database={**MYSQL, "passwrd": "pw"}),
        "glance:server:database:passwrd: unknown key (did you mean password?)"),
    "deeper nested key": (
        server(message_queue={**QUEUE, "ssl": {"enabled": True, "cacert": "/ca.pem"}}),
        "glance:server:message_queue:ssl:cacert: unknown key (did you mean cacert_file?)"),
    "image key": (
        server(images=[{"name": "cirros", "sourse": "http://x/cirros.img"}]),
        "glance:server:images:0:sourse: unknown key (did you mean source?)"),
    "queue member key": (
        server(message_queue={"members": [{"host": "mq1"}, {"hots": "mq2"}], "user": "u", "password": "p"}),
        "glance:server:message_queue:members:1:hots: unknown key (did you mean host?)"),
    "notification key": (
        server(message_queue=QUEUE, notification={"topic": "notifications"}),
        "glance:server:notification:topic: unknown key (did you mean topics?)"),
    "bootstrap key": (
        glance(bootstrap={"identity": {"admin_pasword": "secret"}}),
        "glance:bootstrap:identity:admin_pasword: unknown key (did you mean admin_password?)"),
    "bootstrap section": (
        glance(bootstrap={"databse": {"admin_user": "root"}}),
        "glance:bootstrap:databse: unknown key (did you mean database?)"),
    "lookup key": (
        glance(lookup={"api_servr": "uwsgi"}),
        "glance:lookup:api_servr: unknown key (did you mean api_server?)"),
    "nested lookup key": (
        glance(lookup={"pkgs": {"apii": ["glance-api"]}}),
        "glance:lookup:pkgs:apii: unknown key (did you mean api?)"),
    "nothing close": (
        server(flavour="blue"),
        "glance:server:flavour: unknown key; known keys: behind_proxy, bind, cache, ceph, config, cors, database, "
        "db_purge, default_store, enable_v1_api, enabled, identity, image_cache, image_seeding, images, import, "
        "install, internal_api, limits, manage_services, message_queue, notification, policy, property_protection, "
        "registry, role, show_image_direct_url, show_multiple_locations, storage, stores, version, "
        "worker_self_reference_url, workers"),
    "nothing close, nested": (
        server(bind={"address": "0.0.0.0", "interface": "eth0"}),
        "glance:server:bind:interface: unknown key; known keys: address, port, ssl"),
    "database option written at the wrong level": (
        server(database={**MYSQL, "cacert_file": "/ca.pem"}),
        "glance:server:database:cacert_file: unknown key; known keys: contract, engine, host, name, password, path, "
        "port, ssl, user"),
    "internal api address under another name": (
        server(internal_api={"enabled": True, "host": "10.0.0.5", "port": 9293}),
        "glance:server:internal_api:host: unknown key; known keys: address, enabled, port"),
    "first in sorted order": (
        glance(server={"zorkers": 2, "databse": MYSQL}, bootstrap={"identiy": {}}),
        "glance:bootstrap:identiy: unknown key (did you mean identity?)"),
}

# Keys whose sub-keys are free by design: rendered without complaint.
FREE = {
    "raw config": server(config={"glance-api.conf": {"DEFAULT": {"debug": True}, "any_section": {"any": 1}}}),
    "policy rules": server(policy={"any_rule_name": "role:admin"}),
    "image properties and checksums": server(images=[{
        "name": "cirros", "source": "http://x/cirros.img",
        "properties": {"hw_disk_bus": "ide", "any_property": "x"},
        "checksums": {"sha256": "0" * 64, "md5": "0" * 32}}]),
    "stores by id": server(version="2025.1", default_store="local", stores={
        "local": {"type": "file", "path": "/srv/images", "any_option": 1},
        "web": {"type": "http", "description": "Web"}}),
    "stores as a list": server(version="2025.1", default_store="local", stores=[
        {"id": "local", "type": "file", "any_option": 1},
        {"id": "volumes", "type": "cinder", "cinder_volume_type": "glance"}]),
    "storage extra option": server(storage={
        "engine": "rbd", "user": "glance", "pool": "images", "client_glance_key": "AQD==",
        "rbd_thin_provisioning": True}),
    "ceph global": server(ceph={"mon_host": ["10.0.0.1"], "global": {"auth_client_required": "cephx"}}),
    "image seeding connection": server(image_seeding={"connection": {"cloud": "admin", "any_key": 1}}),
    "notification as a bool": server(notification=False),
    "notification as a mapping": server(message_queue=QUEUE, notification={"enabled": True, "topics": "t"}),
    "lookup default versions by platform": glance(lookup={"default_version_by_osfinger": {"Debian-14": "2026.1"}}),
    "known lookup keys": glance(lookup={"pkgs": {"api": ["glance-api"]}, "db_wait": {"attempts": 3},
                                        "uwsgi": {"plugin": "python3"}}),
}


# Through Salt: the run stops with exactly that one line.

@pytest.mark.parametrize("case", UNKNOWN)
def test_unknown_key_stops_the_render_with_its_line(render, case):
    pillar, message = UNKNOWN[case]
    with pytest.raises(RenderError) as error:
        render("debian-12", pillar)
    assert f"Jinja error: {message}\n" in str(error.value)


@pytest.mark.parametrize("sls, pillar, message", [
    ("glance.bootstrap.database", glance(bootstrap={"database": {"admin_usr": "root"}}),
     "glance:bootstrap:database:admin_usr: unknown key (did you mean admin_user?)"),
    ("glance.bootstrap.keystone", glance(bootstrap={"identity": {"endpoints": {"publc": "http://g:9292"}}}),
     "glance:bootstrap:identity:endpoints:publc: unknown key (did you mean public?)"),
    ("glance.bootstrap", server(imagse=[]), "glance:server:imagse: unknown key (did you mean images?)"),
    ("glance.server.config", server(workrs=2), "glance:server:workrs: unknown key (did you mean workers?)"),
])
def test_every_entry_point_refuses_unknown_keys(render, sls, pillar, message):
    with pytest.raises(RenderError) as error:
        render("debian-12", pillar, sls=sls)
    assert f"Jinja error: {message}\n" in str(error.value)


def test_lookup_keys_come_from_the_platform_family(render):
    pillar = glance(lookup={"uwsgi": {"plugn": "python3"}})
    with pytest.raises(RenderError) as error:
        render("rocky-9", pillar)
    assert "Jinja error: glance:lookup:uwsgi:plugn: unknown key (did you mean plugin?)\n" in str(error.value)


@pytest.mark.parametrize("case", FREE)
def test_free_keys_are_accepted(render, case):
    render("debian-12", FREE[case])


@pytest.mark.parametrize("sls", ["glance", "glance.bootstrap"])
def test_every_sample_pillar_passes(render, sls):
    for name in ["pillar.example", "single", "cluster", "multistore", "ceph", "noauth", "seed_juno"]:
        render("debian-12", load_pillar(name), sls=sls)


# The helper alone, without Salt.

@pytest.mark.parametrize("case", UNKNOWN)
def test_helper_reports_the_unknown_key_first(case):
    pillar, message = UNKNOWN[case]
    tree = pillar_keys.declaration(SCHEMA, platform_map("Debian"))
    assert pillar_keys.unknown_keys(tree, pillar["glance"], "glance")[0] == message


@pytest.mark.parametrize("case", FREE)
def test_helper_accepts_free_keys(case):
    tree = pillar_keys.declaration(SCHEMA, platform_map("Debian"))
    assert pillar_keys.unknown_keys(tree, FREE[case]["glance"], "glance") == []


def test_helper_lists_every_unknown_key_in_sorted_order():
    schema = {"a": {"b": None, "c": {"__each__": {"d": None}}}, "e": "free"}
    data = {"x": 1, "a": {"c": [{"d": 1, "dd": 2}, "not a mapping", {"q": 1}], "bb": 1}, "e": {"anything": {}}}
    assert pillar_keys.unknown_keys(schema, data, "root") == [
        "root:a:bb: unknown key (did you mean b?)",
        "root:a:c:0:dd: unknown key (did you mean d?)",
        "root:a:c:2:q: unknown key; known keys: d",
        "root:x: unknown key; known keys: a, e",
    ]


def test_helper_does_not_look_into_values_of_another_shape():
    schema = {"m": {"k": None}, "items": {"__each__": {"k": None}}, "leaf": None}
    data = {"m": True, "items": {"not": "a list"}, "leaf": {"any": "mapping"}}
    assert pillar_keys.unknown_keys(schema, data, "root") == []


def test_helper_returns_one_line_or_nothing():
    first = pillar_keys.first_unknown_key
    lookup_map = platform_map("Debian")
    assert first(SCHEMA, {"server": {"imagse": [], "workrs": 1}}, lookup_map) == \
        "glance:server:imagse: unknown key (did you mean images?)"
    assert first(SCHEMA, load_pillar("pillar.example")["glance"], lookup_map) == ""
    assert first(SCHEMA, None, lookup_map) == ""


@pytest.mark.parametrize("os_family", ["Debian", "RedHat"])
def test_the_whole_platform_map_is_a_valid_lookup(os_family):
    """Every key of the map, however it grows, can be overridden."""
    tree = pillar_keys.declaration(SCHEMA, platform_map(os_family))
    lookup = {key: value for key, value in platform_map(os_family).items()
              if key not in pillar_keys.MAP_PILLAR_DEFAULTS}
    assert pillar_keys.unknown_keys(tree, {"lookup": lookup}, "glance") == []


def test_a_bad_declaration_is_an_error():
    with pytest.raises(ValueError, match="root:a: bad declaration 'fre'"):
        pillar_keys.unknown_keys({"a": "fre"}, {"a": {"b": 1}}, "root")


# The declaration itself.

def declared_paths(node, path=()):
    """Every key path of a declaration, __each__ left out of the path."""
    if not isinstance(node, dict):
        return
    for key, child in node.items():
        here = path if key == "__each__" else path + (key,)
        if key != "__each__":
            yield here
        yield from declared_paths(child, here)


def test_declaration_uses_only_its_notation():
    def check(node, path):
        if node is None or node == "free":
            return
        assert isinstance(node, dict), f"{path}: {node!r}"
        assert "__each__" not in node or len(node) == 1, f"{path}: __each__ must be alone"
        for key, child in node.items():
            check(child, f"{path}:{key}")
    assert set(SCHEMA) == {"server", "bootstrap", "lookup"}
    check(SCHEMA, "glance")


def test_image_keys_are_the_arguments_of_glance_image_present():
    tree = ast.parse((REPO / "_states" / "glance_image.py").read_text())
    present = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "present")
    arguments = {arg.arg for arg in present.args.args + present.args.kwonlyargs}
    # images.sls gives the connection itself.
    assert set(SCHEMA["server"]["images"]["__each__"]) == arguments - {"connection"}


def pillar_reference_subsections():
    """README.rst's Pillar section, as the set of key names each subsection
    mentions in its literals (``a:b``, ``c``)."""
    text = (REPO / "README.rst").read_text()
    section = re.split(r"\n[^\n]+\n=+\n", text.split("\nPillar\n======\n", 1)[1], maxsplit=1)[0]
    subsections = re.split(r"\n[^\n]+\n-+\n", section)
    return [{part.strip() for literal in re.findall(r"``([^`]+)``", sub) for part in literal.split(":")}
            for sub in subsections]


@pytest.mark.parametrize("path", [":".join(path) for top in ("server", "bootstrap")
                                  for path in declared_paths(SCHEMA[top], (top,))])
def test_every_declared_key_is_in_the_readme(path):
    # Keys live under glance:server unless the README says otherwise.
    names = set(path.split(":")[1:] if path.startswith("server:") else path.split(":"))
    assert any(names <= mentioned for mentioned in pillar_reference_subsections()), \
        f"README.rst's Pillar section has no subsection that mentions {path}"


def test_bootstrap_defaults_are_not_lookup_keys(render):
    """The map holds glance:bootstrap's defaults; they are set under
    glance:bootstrap, so glance:lookup:bootstrap is a mistake."""
    with pytest.raises(RenderError) as error:
        render("debian-12", {"glance": {"lookup": {"bootstrap": {"identity": {"region": "R"}}}}})
    assert "glance:lookup:bootstrap: unknown key" in str(error.value)
