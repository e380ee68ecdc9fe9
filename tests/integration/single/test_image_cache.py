"""Single suite: the image cache (glance:server:image_cache, on in
tests/pillar/single.sls with a max_size of 8 MiB), on the release's own
driver (sqlite up to 2023.2, centralized_db from 2024.1).

- glance-cache.conf holds the pillar's cache options, as glance-api.conf
  does, private (root:glance 0640);
- an image downloaded once is cached on the node, and the next download is
  served from the cache (the cache's hit count for it goes up by one) and
  reads back the same;
- the pruner's and the cleaner's timers are enabled with a next run; one
  run of the pruner brings a cache over max_size back under it, and one run
  of the cleaner removes a stalled download and an invalid file, and keeps
  a download still in progress."""
import uuid

import pytest
from test_images import GLANCE

from glance_checks import KEYSTONE_TOKEN, assert_private, read_ini, run_client, suite_pillar

PILLAR = suite_pillar("single")
CACHE = PILLAR["glance"]["server"]["image_cache"]
MAX_SIZE = CACHE["max_size"]
MiB = 1024 * 1024
# Longer ago than the default stall_time (a day).
STALLED = "3 days ago"

# upload SIZE NAME: a new image of SIZE random bytes; prints {id, sha256}.
# download ID: downloads it twice (the second once the cache lists it);
#   prints both digests and its hit count before and after the second.
# cached: the cache's listing, {image id: record}.
# delete ID: deletes the image.
CACHE_CLIENT = KEYSTONE_TOKEN + r"""
import hashlib, json, os, sys, time, urllib.request
env = os.environ
token = keystone_token(env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 30)
root = env["OS_ENDPOINT"] + "/v2"

def call(path, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(root + path, body, {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    return urllib.request.urlopen(req, timeout=120)

def cached():
    return {record["image_id"]: record for record in json.load(call("/cache"))["cached_images"]}

def download(image_id):
    digest = hashlib.sha256()
    with call("/images/" + image_id + "/file") as answer:
        for chunk in iter(lambda: answer.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()

op = sys.argv[1]
if op == "upload":
    data = os.urandom(int(sys.argv[2]))
    meta = {"name": sys.argv[3], "disk_format": "raw", "container_format": "bare"}
    image = json.load(call("/images", "POST", json.dumps(meta).encode()))
    call("/images/" + image["id"] + "/file", "PUT", data, "application/octet-stream").read()
    print(json.dumps({"id": image["id"], "sha256": hashlib.sha256(data).hexdigest()}))
elif op == "download":
    image_id = sys.argv[2]
    first = download(image_id)
    # The cache files the image as the first download ends.
    deadline = time.monotonic() + 30
    while image_id not in cached():
        if time.monotonic() > deadline:
            sys.exit("not in the cache 30 s after a download")
        time.sleep(0.5)
    before = cached()[image_id]["hits"]
    second = download(image_id)
    # The cache counts the hit once the whole file is read: as the
    # answer's last bytes go out, not before.
    deadline = time.monotonic() + 15
    while cached()[image_id]["hits"] == before and time.monotonic() < deadline:
        time.sleep(0.5)
    print(json.dumps({"first": first, "second": second, "hits_before": before,
                      "hits_after": cached()[image_id]["hits"]}))
elif op == "cached":
    print(json.dumps(cached()))
elif op == "delete":
    call("/images/" + sys.argv[2], "DELETE").read()
"""


def client(host, *args):
    return run_client(host, GLANCE, CACHE_CLIENT, *args)


@pytest.fixture(scope="module")
def cache_dir(host):
    return read_ini(host, "/etc/glance/glance-cache.conf")["DEFAULT"]["image_cache_dir"]


@pytest.fixture(scope="module")
def images(host):
    """Images the tests upload, deleted at the end."""
    made = []
    yield made
    for image_id in made:
        client(host, "delete", image_id)


def upload(host, images, size, name):
    image = client(host, "upload", size, f"{name}-{uuid.uuid4().hex[:8]}")
    images.append(image["id"])
    return image


def test_the_cache_utilities_get_the_pillars_options(host, cache_dir):
    assert_private(host, "/etc/glance/glance-cache.conf")
    cache = read_ini(host, "/etc/glance/glance-cache.conf")["DEFAULT"]
    api = read_ini(host, "/etc/glance/glance-api.conf")
    assert cache["image_cache_max_size"] == api["DEFAULT"]["image_cache_max_size"] == str(MAX_SIZE)
    assert cache_dir == api["DEFAULT"]["image_cache_dir"] == "/var/lib/glance/image-cache"


@pytest.mark.parametrize("job", ["glance-cache-pruner", "glance-cache-cleaner"])
def test_the_cache_timers_are_enabled_with_a_next_run(host, job):
    timer = host.service(f"{job}.timer")
    assert timer.is_enabled and timer.is_running
    next_run = host.run(f"systemctl show {job}.timer -p NextElapseUSecRealtime --value").stdout.strip()
    assert next_run not in ("", "n/a", "0"), next_run
    # The release's own command, with both files named.
    command = host.run(f"systemctl show {job}.service -p ExecStart --value").stdout
    binary = command.split("path=")[1].split(" ;")[0]
    assert host.file(binary).is_file, command
    assert "--config-file /etc/glance/glance-cache.conf" in command, command


def test_a_second_download_is_served_from_the_cache(host, images, cache_dir):
    image = upload(host, images, 4 * MiB, "cache-hit")
    reads = client(host, "download", image["id"])
    assert reads["first"] == reads["second"] == image["sha256"]
    assert reads["hits_after"] == reads["hits_before"] + 1, reads
    cached = host.file(f"{cache_dir}/{image['id']}")
    assert cached.is_file and cached.size == 4 * MiB
    assert (cached.user, cached.group) == ("glance", "glance")


def test_one_run_of_the_pruner_brings_the_cache_under_max_size(host, images, cache_dir):
    big = upload(host, images, 6 * MiB, "cache-prune")
    reads = client(host, "download", big["id"])
    assert reads["first"] == big["sha256"]
    over = sum(record["size"] for record in client(host, "cached").values())
    assert over > MAX_SIZE, f"the cache holds {over} bytes, not over {MAX_SIZE}"
    run = host.run("systemctl start glance-cache-pruner.service")
    assert run.rc == 0, run.stderr + host.run("journalctl -u glance-cache-pruner.service -n 20 --no-pager").stdout
    records = client(host, "cached")
    assert sum(record["size"] for record in records.values()) <= MAX_SIZE, records
    on_disk = host.run(f"find {cache_dir} -maxdepth 1 -type f ! -name 'cache.db*' -printf '%s\\n'").stdout.split()
    assert sum(int(size) for size in on_disk) <= MAX_SIZE, on_disk


def test_one_run_of_the_cleaner_removes_stalled_and_invalid_files(host, cache_dir):
    probe = uuid.uuid4().hex
    stalled, fresh, invalid = (f"{cache_dir}/incomplete/{probe}-stalled", f"{cache_dir}/incomplete/{probe}-fresh",
                               f"{cache_dir}/invalid/{probe}")
    for path in (stalled, fresh, invalid):
        made = host.run(f"install -o glance -g glance -m 0640 /dev/null {path}")
        assert made.rc == 0, made.stderr
    assert host.run(f"touch -d '{STALLED}' {stalled}").rc == 0
    try:
        run = host.run("systemctl start glance-cache-cleaner.service")
        assert run.rc == 0, run.stderr + host.run(
            "journalctl -u glance-cache-cleaner.service -n 20 --no-pager").stdout
        assert not host.file(stalled).exists
        assert not host.file(invalid).exists
        assert host.file(fresh).exists, "a download still in progress was removed"
    finally:
        host.run(f"rm -f {stalled} {fresh} {invalid}")
