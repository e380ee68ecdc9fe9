"""glance/orchestrate/deploy.sls, rendered by Salt from the pillar key
glance_orchestrate: the steps, their targets and their order, and the
validation of the key. (rolling.sls resolves its nodes through the master's
cache, so it renders on a master only: the cluster suite runs it.)"""
import json

import pytest

from saltrender import RenderError

ORCHESTRATE = "glance.orchestrate.deploy"


def steps(rendered):
    """{state id: (function, args)} of an orchestration."""
    return {sid: rendered.function(sid)[1:] for sid in rendered.states}


def requires(args):
    return [list(item.values())[0] for item in args.get("require", [])]


def test_the_steps_follow_each_other(render):
    pillar = {"glance_orchestrate": {"primary": "glance-1", "secondaries": ["glance-2", "glance-3"]}}
    rendered = steps(render("debian-12", pillar, sls=ORCHESTRATE))
    assert set(rendered) == {"glance-orchestrate-deploy-install", "glance-orchestrate-deploy-bootstrap",
                             "glance-orchestrate-deploy-primary", "glance-orchestrate-deploy-secondaries",
                             "glance-orchestrate-deploy-images"}
    install = rendered["glance-orchestrate-deploy-install"][1]
    bootstrap = rendered["glance-orchestrate-deploy-bootstrap"][1]
    primary = rendered["glance-orchestrate-deploy-primary"][1]
    secondaries = rendered["glance-orchestrate-deploy-secondaries"][1]
    images = rendered["glance-orchestrate-deploy-images"][1]
    # Every API node installs at once, in one job.
    assert (install["tgt"], install["sls"]) == ("( glance-1 ) or ( L@glance-2,glance-3 )", "glance.server.install")
    # The bootstrap runs on the primary unless told otherwise.
    assert (bootstrap["tgt"], bootstrap["sls"]) == ("glance-1", "glance.bootstrap")
    assert (primary["tgt"], primary["sls"]) == ("glance-1", "glance")
    assert (secondaries["tgt"], secondaries["sls"]) == ("L@glance-2,glance-3", "glance")
    assert (images["tgt"], images["sls"]) == ("glance-1", "glance.server.images")
    assert {args["tgt_type"] for _, args in rendered.values()} == {"compound"}
    assert all(args["expect_minions"] for _, args in rendered.values())
    assert requires(primary) == ["glance-orchestrate-deploy-install", "glance-orchestrate-deploy-bootstrap"]
    assert requires(secondaries) == ["glance-orchestrate-deploy-primary"]
    assert requires(images) == ["glance-orchestrate-deploy-secondaries"]
    assert all("pillar" not in args for _, args in rendered.values())


def test_compound_targets_and_a_pillar_override(render):
    pillar = {"glance_orchestrate": {"bootstrap": "G@role:db-admin", "primary": "api-a.example",
                                     "pillar": {"glance": {"server": {"workers": 3}}}}}
    rendered = steps(render("debian-12", pillar, sls=ORCHESTRATE))
    assert "glance-orchestrate-deploy-secondaries" not in rendered
    assert rendered["glance-orchestrate-deploy-install"][1]["tgt"] == "api-a.example"
    assert rendered["glance-orchestrate-deploy-bootstrap"][1]["tgt"] == "G@role:db-admin"
    images = rendered["glance-orchestrate-deploy-images"][1]
    assert requires(images) == ["glance-orchestrate-deploy-primary"]
    assert all(json.loads(json.dumps(args["pillar"])) == {"glance": {"server": {"workers": 3}}}
               for _, args in rendered.values())


@pytest.mark.parametrize("orchestrate, message", [
    (None, "the pillar key glance_orchestrate is missing"),
    ({"secondaries": "glance-2"}, "glance_orchestrate:primary is required"),
    ({"primary": "glance-1", "secondary": "glance-2"}, "unknown key glance_orchestrate:secondary"),
    ({"primary": ["glance-1", 2]}, "glance_orchestrate:primary must be a minion id"),
    ({"primary": "glance-1", "pillar": "workers=3"}, "glance_orchestrate:pillar must be a mapping"),
    ({"primary": "glance-1", "drain_seconds": "5"}, "glance_orchestrate:drain_seconds must be a number"),
    ({"primary": "glance-1", "health_url": "http://lb/healthcheck"}, "health_url must be a URL with {minion}"),
])
def test_a_bad_setting_stops_the_render(render, orchestrate, message):
    pillar = {} if orchestrate is None else {"glance_orchestrate": orchestrate}
    with pytest.raises(RenderError, match=message.replace("{", r"\{").replace("}", r"\}")):
        render("debian-12", pillar, sls=ORCHESTRATE)
