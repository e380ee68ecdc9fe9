"""Single suite: the formula's housekeeping timers (glance.server.housekeeping).
db_purge is on in tests/pillar/single.sls: glance-db-purge.timer is enabled
with a next run, and one run of its job purges the rows of an image deleted
longer ago than age_in_days, keeps those of one deleted today, and keeps
every row of the images table (OSSN-0075)."""
import shlex

import pytest
from test_images import GLANCE

from glance_checks import KEYSTONE_TOKEN, run_client, suite_pillar

PILLAR = suite_pillar("single")
PURGE = PILLAR["glance"]["server"]["db_purge"]
AGE = PURGE.get("age_in_days", 30)
TIMER = "glance-db-purge.timer"

# Creates an image with a property and a tag and deletes it: Glance keeps
# its rows, marked deleted. Prints the image's id.
DELETED_IMAGE = KEYSTONE_TOKEN + r"""
import json, os, urllib.request
env = os.environ
token = keystone_token(env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 30)
api = env["OS_ENDPOINT"] + "/v2/images"

def call(url, method="GET", body=None):
    req = urllib.request.Request(url, body, {"X-Auth-Token": token, "Content-Type": "application/json"},
                                 method=method)
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.read()

meta = {"name": "purge-probe", "disk_format": "raw", "container_format": "bare", "purge_probe": "yes",
        "tags": ["purge-probe"]}
image = json.loads(call(api, "POST", json.dumps(meta).encode()))
call(api + "/" + image["id"], "DELETE")
print(json.dumps(image["id"]))
"""


def sql(host, statement):
    cmd = host.run(f"mysql --batch --skip-column-names glance -e {shlex.quote(statement)}")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def rows(host, image_id):
    """{table: rows of the image} for the tables the probe leaves rows in."""
    return {table: int(sql(host, f"SELECT COUNT(*) FROM {table} WHERE {column} = '{image_id}'"))
            for table, column in [("images", "id"), ("image_properties", "image_id"), ("image_tags", "image_id")]}


def test_the_purge_timer_is_enabled_with_a_next_run(host):
    assert host.service(TIMER).is_enabled
    assert host.service(TIMER).is_running
    next_run = host.run(f"systemctl show {TIMER} -p NextElapseUSecRealtime --value").stdout.strip()
    assert next_run not in ("", "n/a", "0"), next_run
    listed = host.run(f"systemctl list-timers {TIMER} --no-pager").stdout
    assert TIMER in listed, listed


@pytest.fixture(scope="module")
def purged(host):
    """(rows of an image deleted long ago, of one deleted today), before and
    after one run of the purge job."""
    old = run_client(host, GLANCE, DELETED_IMAGE)
    recent = run_client(host, GLANCE, DELETED_IMAGE)
    for table, column in [("images", "id"), ("image_properties", "image_id"), ("image_tags", "image_id")]:
        sql(host, f"UPDATE {table} SET deleted_at = NOW() - INTERVAL {AGE + 10} DAY WHERE {column} = '{old}'")
    before = (rows(host, old), rows(host, recent))
    run = host.run("systemctl start glance-db-purge.service")
    assert run.rc == 0, run.stderr + host.run("journalctl -u glance-db-purge.service -n 20 --no-pager").stdout
    return before, (rows(host, old), rows(host, recent))


def test_one_run_purges_what_was_deleted_longer_ago(purged):
    (old_before, recent_before), (old_after, recent_after) = purged
    assert old_before == recent_before == {"images": 1, "image_properties": 1, "image_tags": 1}
    assert (old_after["image_properties"], old_after["image_tags"]) == (0, 0), old_after
    # Deleted today: younger than age_in_days, kept.
    assert recent_after == recent_before


def test_the_images_table_keeps_every_row(purged):
    _, (old_after, recent_after) = purged
    assert old_after["images"] == recent_after["images"] == 1
