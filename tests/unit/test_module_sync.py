"""The SLS files that use the formula's custom states sync the custom modules
within the run (saltutil.sync_all, see glance/libsync.jinja) until the
minion holds the current copy of every module those states need, and only
then stop asking for it."""

import itertools
import shutil
from pathlib import Path

import pytest

from saltrender import REPO, load_pillar

_RENDERS = itertools.count()


def _images_pillar():
    pillar = load_pillar("single")
    pillar["glance"]["server"]["images"] = [{"name": "cirros", "source": "salt://images/cirros.img"}]
    return pillar


CASES = {
    "glance.server.images": (
        _images_pillar,
        "glance-server-images-saltutil-sync-all",
        ["_states/glance_image.py", "_modules/glance_image.py", "_modules/openstack_sdk.py"],
    ),
    "glance.bootstrap.keystone": (
        lambda: load_pillar("single"),
        "glance-bootstrap-identity-saltutil-sync-all",
        ["_states/keystone_registration.py", "_modules/openstack_sdk.py"],
    ),
    "glance.server.install": (
        lambda: load_pillar("cluster"),
        "glance-server-install-saltutil-sync-all",
        ["_states/glance_db.py"],
    ),
    "glance.server.storage": (
        lambda: load_pillar("single_ceph"),
        "glance-server-storage-saltutil-sync-all",
        ["_states/glance_store.py"],
    ),
}


@pytest.mark.parametrize("sls", sorted(CASES))
def test_sync_until_every_module_is_current(render, sls):
    make_pillar, sync_id, needed = CASES[sls]

    def synced_after(copies):
        """Whether the SLS syncs when the minion holds ``copies`` ({file: text})."""
        for relative, text in copies.items():
            target = extmods / relative.lstrip("_")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        # Renders are cached by pillar: a key outside glance: makes a fresh one.
        pillar = dict(make_pillar(), module_sync_probe=next(_RENDERS))
        try:
            return sync_id in render("debian-12", pillar, sls=sls).states
        finally:
            shutil.rmtree(extmods / "modules", ignore_errors=True)
            shutil.rmtree(extmods / "states", ignore_errors=True)

    first = render("debian-12", make_pillar(), sls=sls)
    assert sync_id in first.states
    extmods = Path(first._renderer.caller.opts["extension_modules"])
    current = {relative: (REPO / relative).read_text() for relative in needed}
    assert synced_after(current) is False
    for stale in needed:
        assert synced_after({r: t for r, t in current.items() if r != stale}) is True, stale
        assert synced_after(dict(current, **{stale: current[stale] + "# older\n"})) is True, stale
