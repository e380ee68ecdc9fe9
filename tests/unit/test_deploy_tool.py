"""tools/deploy.py's closing advice: the API's URL with the scheme the pillar
gives, the CA a client needs for it, and the openrc file (root only)."""
import importlib.util
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SSL = {"enabled": True, "cert_file": "/etc/ssl/g.crt", "key_file": "/etc/ssl/g.key", "cacert_file": "/etc/ssl/ca.crt"}


@pytest.fixture
def deploy(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("deploy_tool", REPO / "tools" / "deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A repository of its own, with the formula's code, for the openrc.
    (tmp_path / "glance").symlink_to(REPO / "glance")
    monkeypatch.setattr(module, "REPO", tmp_path)
    monkeypatch.setattr(module, "DEPLOY_DIR", tmp_path / "deploy")
    (tmp_path / "deploy").mkdir()
    return module


def test_without_keystone_curl_is_shown_the_https_url_and_the_ca(deploy, capsys):
    deploy.how_to_use({"glance": {"server": {"bind": {"address": "0.0.0.0", "port": 9292, "ssl": SSL}}}})
    out = capsys.readouterr().out
    assert "Glance API: https://127.0.0.1:9292 (listening on 0.0.0.0:9292)" in out
    assert "curl -s --cacert /etc/ssl/ca.crt https://127.0.0.1:9292/v2/images" in out


def test_without_tls_plain_http_and_no_ca(deploy, capsys):
    deploy.how_to_use({"glance": {"server": {"bind": {"address": "127.0.0.1", "port": 9292}}}})
    out = capsys.readouterr().out
    assert "curl -s http://127.0.0.1:9292/v2/images" in out and "--cacert" not in out


def test_the_openrc_names_the_ca_with_keystone(deploy, capsys):
    pillar = {"glance": {
        "server": {"bind": {"address": "0.0.0.0", "port": 9292, "ssl": SSL},
                   "identity": {"engine": "keystone", "host": "127.0.0.1", "region": "RegionTwo"}},
        "bootstrap": {"identity": {"admin_password": "secret", "auth_url": "http://127.0.0.1:5000/v3"}}}}
    deploy.how_to_use(pillar)
    openrc = deploy.DEPLOY_DIR / "openrc"
    assert "export OS_CACERT='/etc/ssl/ca.crt'\n" in openrc.read_text()
    assert openrc.stat().st_mode & 0o777 == 0o600
    assert "secret" not in capsys.readouterr().out


def test_keystones_ca_is_the_clients_bundle(deploy):
    """With Keystone on https the pillar's identity:cacert_file is the one
    bundle Glance's clients verify both with (bind:ssl then gives none)."""
    pillar = {"glance": {
        "server": {"bind": {"address": "0.0.0.0", "port": 9292,
                            "ssl": {"enabled": True, "cert_file": "/etc/ssl/g.crt", "key_file": "/etc/ssl/g.key"}},
                   "identity": {"engine": "keystone", "protocol": "https", "host": "127.0.0.1",
                                "cacert_file": "/etc/ssl/both-ca.crt"}},
        "bootstrap": {"identity": {"admin_password": "secret", "auth_url": "https://127.0.0.1:5000/v3"}}}}
    deploy.how_to_use(pillar)
    assert "export OS_CACERT='/etc/ssl/both-ca.crt'\n" in (deploy.DEPLOY_DIR / "openrc").read_text()
