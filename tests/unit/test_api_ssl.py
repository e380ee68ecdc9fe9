"""HTTPS on the API's own socket (glance:server:bind:ssl): uWSGI's
https-socket with the files the formula writes from the pillar (root:glance
0640, never shown), https in every URL the formula makes for the API, the
CA for its own clients; nothing of it when off."""
from saltrender import load_pillar

CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n"
CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"
SSL = {"enabled": True, "cert": CERT, "key": KEY, "cacert": CA}


def single(ssl=None, api_server="uwsgi", version="2025.1"):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["version"] = version
    pillar["glance"]["server"].pop("limits", None)
    pillar["glance"].setdefault("lookup", {})["api_server"] = api_server
    if ssl is not None:
        pillar["glance"]["server"]["bind"]["ssl"] = ssl
    return pillar


def test_uwsgi_serves_https_with_the_files_it_writes(render):
    pillar = single(SSL)
    rendered = render("debian-13", pillar)
    uwsgi = rendered.ini(UWSGI_INI)["uwsgi"]
    bind = pillar["glance"]["server"]["bind"]
    assert uwsgi["https-socket"] == (f"{bind['address']}:{bind['port']},/etc/glance/ssl/glance-api.crt,"
                                     "/etc/glance/ssl/glance-api.key,HIGH")
    assert "http-socket" not in uwsgi
    files = rendered.managed_files()
    for path, key in (("/etc/glance/ssl/glance-api.crt", "cert"), ("/etc/glance/ssl/glance-api.key", "key"),
                      ("/etc/glance/ssl/glance-api-ca.crt", "cacert")):
        state_id, args = files[path]
        assert args["contents_pillar"] == f"glance:server:bind:ssl:{key}"
        assert (args["user"], args["group"], args["mode"], args["show_changes"]) == ("root", "glance", "0640", False)
        assert "contents" not in args and "source" not in args
    # The whole directory is root:glance 0750/0640 after the files are there.
    _, _, directory = rendered.function("glance-server-config-dir-file-directory")
    assert {"file": "glance-server-config-ssl-*"} in directory["require"]


def test_the_key_is_in_no_rendered_state(render):
    rendered = render("debian-13", single(SSL))
    assert "MIIEkey" not in repr(rendered.states)


def test_every_url_the_formula_makes_for_the_api_is_https(render):
    pillar = single(SSL)
    pillar["glance"]["server"]["image_cache"] = {"enabled": True}
    rendered = render("debian-13", pillar)
    api = rendered.ini("/etc/glance/glance-api.conf")
    assert api.get("DEFAULT", "worker_self_reference_url").startswith("https://")
    _, _, seeding = rendered.function(next(s for s in rendered.states if s.startswith("glance-server-images-")
                                           and rendered.function(s)[0] == "glance_image"))
    assert seeding["connection"]["endpoint"] == "https://127.0.0.1:9292"
    assert seeding["connection"]["cacert"] == "/etc/glance/ssl/glance-api-ca.crt"
    # Endpoints the pillar does not give (the pillar's URLs are its own).
    pillar = single(SSL)
    pillar["glance"]["bootstrap"]["identity"].pop("endpoints")
    bootstrap = render("debian-13", pillar, sls="glance.bootstrap")
    urls = [args["url"] for state_id in bootstrap.states
            for module, function, args in [bootstrap.function(state_id)] if function == "endpoint_present"]
    assert urls and all(url.startswith("https://") for url in urls)


def test_without_a_ca_the_clients_use_the_systems(render):
    rendered = render("debian-13", single({"enabled": True, "cert": CERT, "key": KEY}))
    assert "/etc/glance/ssl/glance-api-ca.crt" not in rendered.managed_files()
    _, _, seeding = rendered.function(next(s for s in rendered.states if s.startswith("glance-server-images-")
                                           and rendered.function(s)[0] == "glance_image"))
    assert "cacert" not in seeding["connection"]


def test_off_by_default_leaves_no_trace(render):
    rendered = render("debian-13", single())
    uwsgi = rendered.ini(UWSGI_INI)["uwsgi"]
    assert "https-socket" not in uwsgi and uwsgi["http-socket"] == "0.0.0.0:9292"
    assert not [path for path in rendered.managed_files() if path.startswith("/etc/glance/ssl")]
    assert not [state for state in rendered.states if "-ssl-" in state]


def test_files_the_host_already_has_are_used_as_they_are(render):
    """A PKI of the site's own (another formula, certbot) keeps its files:
    the formula names them and writes none."""
    paths = {"cert_file": "/etc/ssl/glance/api.pem", "key_file": "/etc/ssl/private/glance-api.key",
             "cacert_file": "/etc/ssl/glance/ca.pem"}
    rendered = render("debian-13", single(dict(paths, enabled=True)))
    uwsgi = rendered.ini(UWSGI_INI)["uwsgi"]
    assert uwsgi["https-socket"] == "0.0.0.0:9292,/etc/ssl/glance/api.pem,/etc/ssl/private/glance-api.key,HIGH"
    assert not [state for state in rendered.states if "-ssl-" in state]
    _, _, seeding = rendered.function(next(s for s in rendered.states if s.startswith("glance-server-images-")
                                           and rendered.function(s)[0] == "glance_image"))
    assert seeding["connection"]["cacert"] == "/etc/ssl/glance/ca.pem"

