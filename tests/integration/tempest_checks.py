"""OpenStack Tempest's image API tests (`tempest.api.image`) against a
converged suite, from its testinfra tests.

Tempest comes from PyPI into a virtualenv on the converged host
(TEMPEST_VENV), in the release that supports the host's Glance
(TEMPEST_FOR_PLATFORM). Its tempest.conf is derived from the suite's pillar
(glance:server and glance:bootstrap, read with yaml by the caller) and from
what the host runs: the installed Glance release, and the stores and import
methods of glance-api.conf. Tempest creates its own projects and users
(dynamic credentials) as Keystone's administrator of
glance:bootstrap:identity. The services the suites do not deploy are marked
unavailable, so their tests skip themselves; a test is left out by name
only where no switch exists (TEMPEST_EXCLUDED, with the reason).

The administrator's password is only written to tempest.conf (mode 0600,
root's). Tempest's output stays on the host (run.log in the workspace); what
reaches pytest is the counts, the failed tests' names and, on failure, the
end of the log with every pillar secret masked.
"""
import configparser
import csv
import hashlib
import io
import os
import pathlib
import re
import shlex
import subprocess
import tempfile
import time

import pytest

from glance_checks import API_CONF, pillar_secrets, read_ini
from tests.harness import caches

TEMPEST_VENV = "/opt/tempest"
WORKSPACE = "/var/lib/tempest-image"
WORKSPACE_NAME = "glance-image-api"
CONF_FILE = f"{WORKSPACE}/etc/tempest.conf"
TESTS = r"^tempest\.api\.image\."
CONCURRENCY = 2
# Debian's bundle of the CAs the system trusts.
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

# Tempest is branchless: each tag supports the OpenStack releases its
# release note lists, and a `<release>-last` tag marks the last one that
# still supports a release. Per platform, with the Glance (major version) it
# ships, asserted on the host:
#   debian-12, Glance 25 (zed): 39.0.0, tag zed-last (its note: "end of
#     support for Zed"; the last release that supports Zed).
#   debian-13, Glance 30 (2025.1): 46.2.0, the 2026.1 release tag, which
#     supports 2024.2 to 2026.1. Not 43.0.0, the 2025.1 release tag: Debian's
#     Glance 30.0.0 and 25.1.0 carry the security fix that rejects a
#     web-download URI whose host does not resolve at once (400 "does not
#     pass filtering"), and only from 46.2.0 does Tempest's bad-URL test
#     accept that answer (see TEMPEST_EXCLUDED).
# Ubuntu's and Rocky's Glance are not run here: their Tempest is not chosen,
# and the test skips there, saying so.
TEMPEST_FOR_PLATFORM = {
    "debian-12": (25, "39.0.0"),
    "debian-13": (30, "46.2.0"),
}
# Glance from PyPI, by major version: 32 (2026.1, the cluster upgraded on
# Debian 13) with 46.2.0, the 2026.1 release tag; 33 (2026.2) with 47.0.0,
# the first Tempest released after 2026.2, installed with the 2026.2
# constraints the formula carries (see TEMPEST_CONSTRAINTS_FILE).
TEMPEST_FOR_PYPI = {32: "46.2.0", 33: "47.0.0"}

# Tests left out by exact name, per Tempest release, where no tempest.conf
# switch exists. Tempest before 46.2.0 expects Glance to accept a
# web-download of http://does-not.exist/... and fail the import later;
# Glance with the backported fix (Debian 12's 25.1.0-2+deb12u3) refuses the
# request at once with 400, which Tempest 46.2.0 accepts (Tempest commit
# "Fix web-download bad URL test for sync URI validation"). No Tempest that
# supports Zed has that change.
TEMPEST_EXCLUDED = {
    "39.0.0": [
        "tempest.api.image.v2.test_images_negative.ImportImagesNegativeTest"
        ".test_image_web_download_import_with_bad_url",
    ],
    # Likewise for the legacy task import (Glance bug 2152110): Debian 13's
    # Glance refuses the task's made-up URI at once with 400; Tempest accepts
    # that from its commit "Accept both legacy task import failure modes
    # for fake URI" (after 46.3.0, in no release chosen here).
    "46.2.0": [
        "tempest.api.image.v2.admin.test_image_task.ImageTaskCreate.test_task_create_fake_image_location",
    ],
}

# Served to Glance's web-download import (and task import) during the run
# by a transient HTTP server on the host, on port 80 of its own network
# address: Tempest's default images live on the internet, Glance's import
# filtering allows only ports 80 and 443 by default
# ([import_filtering_opts] allowed_ports), and Debian 13's Glance (the
# security fix above) refuses loopback and link-local addresses, not private
# ones. The file is the qcow2 image of the test_services.image_source
# fixture, a real qcow2 (Glance 2025.1 checks that data matches the declared
# disk format).
HTTP_IMAGE_DIR = "/srv/image-source"
HTTP_IMAGE_FILE = "pattern.qcow2"
HTTP_UNIT = "tempest-http-image"

# Tempest's requirements have no upper bounds, and today's libraries break
# an older Tempest (oslo.utils 8 dropped secretutils.md5, which Tempest 39
# imports). So each release is installed with the versions OpenStack tested
# it with: the upper-constraints.txt of openstack/requirements (39.0.0:
# master on the tag's day, 2024-05-21; 46.2.0: stable/2026.1), for the
# libraries Tempest installs.
TEMPEST_CONSTRAINTS = {
    "39.0.0": (
        "attrs==23.2.0 autopage==0.5.2 bcrypt==4.1.2 cffi==1.16.0 charset-normalizer==3.3.2 cliff==4.6.0 "
        "cmd2==2.4.3 cryptography==42.0.5 debtcollector==3.0.0 defusedxml==0.7.1 fasteners==0.19 "
        "fixtures==4.1.0 idna==3.6 iso8601==2.1.0 jsonschema==4.19.2 jsonschema-specifications==2023.12.1 "
        "msgpack==1.0.8 netaddr==0.10.1 oslo.concurrency==6.0.0 oslo.config==9.4.0 oslo.context==5.5.0 "
        "oslo.i18n==6.3.0 oslo.log==5.5.1 oslo.serialization==5.4.0 oslo.utils==7.1.0 packaging==24.0 "
        "paramiko==3.4.0 pbr==6.0.0 prettytable==3.10.0 psutil==5.9.8 pycparser==2.22 Pygments==2.17.2 "
        "PyNaCl==1.5.0 pyparsing==3.1.2 pyperclip==1.8.2 python-dateutil==2.9.0.post0 python-subunit==1.4.4 "
        "PyYAML==6.0.1 referencing==0.34.0 requests==2.31.0 rfc3986==2.0.0 rpds-py==0.18.0 stestr==4.1.0 "
        "stevedore==5.2.0 testtools==2.7.1 tomlkit==0.12.4 typing_extensions==4.11.0 tzdata==2024.1 "
        "urllib3==1.26.18 voluptuous==0.14.2 wcwidth==0.2.13 wrapt==1.16.0"),
    "46.2.0": (
        "attrs==25.4.0 autopage==0.6.0 bcrypt==5.0.0 cffi==2.0.0 charset-normalizer==3.4.4 cliff==4.13.3 "
        "cmd2==3.2.0 cryptography==43.0.3 debtcollector==3.0.0 defusedxml==0.7.1 fasteners==0.20 "
        "fixtures==4.3.1 idna==3.11 invoke==2.2.1 iso8601==2.1.0 jsonschema==4.26.0 "
        "jsonschema-specifications==2025.9.1 markdown-it-py==4.0.0 mdurl==0.1.2 msgpack==1.1.2 netaddr==1.3.0 "
        "oslo.concurrency==7.4.1 oslo.config==10.3.0 oslo.context==6.3.0 oslo.i18n==6.7.2 oslo.log==8.1.0 "
        "oslo.serialization==5.9.1 oslo.utils==10.0.1 packaging==26.0 paramiko==4.0.0 pbr==7.0.3 "
        "prettytable==3.17.0 psutil==7.2.2 pycparser==3.0 Pygments==2.19.2 PyNaCl==1.6.2 pyparsing==3.3.2 "
        "pyperclip==1.11.0 python-dateutil==2.9.0.post0 python-subunit==1.4.5 PyYAML==6.0.3 "
        "referencing==0.37.0 requests==2.32.5 rfc3986==2.0.0 rich==14.3.3 rich-argparse==1.7.2 "
        "rpds-py==0.30.0 stestr==4.2.1 stevedore==5.7.0 testscenarios==0.5.0 testtools==2.8.5 tomlkit==0.14.0 "
        "typing_extensions==4.15.0 tzdata==2025.3 urllib3==2.6.3 voluptuous==0.16.0 wcwidth==0.6.0 "
        "wrapt==2.1.1"),
}

# Tempest releases installed with a constraints file of the formula's
# (openstack/requirements' upper-constraints on a day near the tag's)
# rather than a list above.
TEMPEST_CONSTRAINTS_FILE = {
    "47.0.0": pathlib.Path(__file__).resolve().parents[2] / "glance" / "files" / "constraints" / "2026.2.txt",
}

PASSWORD_PLACEHOLDER = "@TEMPEST_ADMIN_PASSWORD@"


def glance_version(host, python="python3"):
    """Version of the Glance that PYTHON imports (any packaging)."""
    cmd = host.run(f"{python} -c 'from importlib.metadata import version; print(version(\"glance\"))'")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def glance_major(host, python="python3"):
    """Major version of the Glance that PYTHON imports (any packaging)."""
    return int(glance_version(host, python).split(".")[0])


def platform_name(host):
    """debian-12 and the like, as .kitchen.yml names platforms."""
    info = host.system_info
    release = info.release if info.distribution == "ubuntu" else info.release.split(".")[0]
    return f"{info.distribution}-{release}"


def mask(text, secrets):
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def constraints_of(version):
    if version in TEMPEST_CONSTRAINTS_FILE:
        return TEMPEST_CONSTRAINTS_FILE[version].read_text()
    return "\n".join(TEMPEST_CONSTRAINTS[version].split())


def installed(host, version):
    """True when TEMPEST_VENV holds Tempest VERSION and its commands import."""
    have = host.run(f"{TEMPEST_VENV}/bin/python -c 'import tempest.cmd.run; "
                    "from importlib.metadata import version; print(version(\"tempest\"))'")
    return have.rc == 0 and have.stdout.strip() == version


# Tempest is not under test: its virtualenv, once built on a platform, is
# kept per machine beside the harness's package caches (GLANCE_TEST_CACHE)
# and copied into the next container of that platform that needs the same
# release and constraints, instead of being built from PyPI again. Only
# for podman containers; elsewhere (Kitchen) each host builds its own.
VENV_CACHE = caches.ROOT / "tempest"


def _container(host):
    backend = host.backend
    return backend.name if getattr(backend, "NAME", "") == "podman" else None


def _cached_venv(host, version):
    key = hashlib.sha256(constraints_of(version).encode()).hexdigest()[:12]
    return VENV_CACHE / f"{platform_name(host)}-tempest-{version}-{key}.tar"


def _restore_venv(host, version):
    """Tempest VERSION's kept virtualenv copied into HOST; True if it works."""
    container, archive = _container(host), _cached_venv(host, version)
    if not container or not archive.is_file():
        return False
    host.run(f"rm -rf {TEMPEST_VENV}")
    with archive.open("rb") as data:
        copied = subprocess.run(["podman", "exec", "-i", container, "tar", "-C", "/", "-xf", "-"], stdin=data,
                                capture_output=True, check=False)
    return copied.returncode == 0 and installed(host, version)


def _keep_venv(host, version):
    container, archive = _container(host), _cached_venv(host, version)
    if not container:
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=archive.parent, suffix=".part", delete=False) as part:
        copied = subprocess.run(["podman", "exec", container, "tar", "-C", "/", "-cf", "-",
                                 TEMPEST_VENV.lstrip("/")], stdout=part, stderr=subprocess.PIPE, check=False)
    if copied.returncode == 0:
        os.replace(part.name, archive)  # whole or not at all, for a unit reading it meanwhile
    else:
        os.unlink(part.name)


def install(host, version):
    """Tempest VERSION in TEMPEST_VENV (kept when it is there already) and
    a workspace; returns the seconds the install took."""
    started = time.monotonic()
    if not installed(host, version) and not _restore_venv(host, version):
        cmd = host.run(f"rm -rf {TEMPEST_VENV} && python3 -m venv {TEMPEST_VENV} && "
                       f"printf '%s\\n' {shlex.quote(constraints_of(version))} > {TEMPEST_VENV}/constraints.txt && "
                       f"{TEMPEST_VENV}/bin/pip install --quiet --disable-pip-version-check "
                       f"-c {TEMPEST_VENV}/constraints.txt tempest=={version}")
        assert cmd.rc == 0, cmd.stdout[-3000:] + cmd.stderr[-3000:]
        _keep_venv(host, version)
    # A new workspace each time (tempest init refuses a known name).
    host.run(f"{TEMPEST_VENV}/bin/tempest workspace remove --name {WORKSPACE_NAME} --rmdir")
    cmd = host.run(f"rm -rf {WORKSPACE} && {TEMPEST_VENV}/bin/tempest init --name {WORKSPACE_NAME} {WORKSPACE}")
    assert cmd.rc == 0, cmd.stdout[-2000:] + cmd.stderr[-2000:]
    return time.monotonic() - started


def derive_conf(server, bootstrap, api, major, http_image):
    """tempest.conf as {section: {key: value}}: SERVER and BOOTSTRAP are the
    suite's glance:server and glance:bootstrap pillar, API the host's
    glance-api.conf (parsed), MAJOR Glance's major version, HTTP_IMAGE the
    URL of serve_http_image. The admin password is PASSWORD_PLACEHOLDER."""
    identity = bootstrap["identity"]
    region = server["identity"]["region"]

    def get(section, key, default=""):
        return api.get(section, key) if api.has_option(section, key) else default

    backends = [item.split(":") for item in get("DEFAULT", "enabled_backends").split(",") if item.strip()]
    store_types = [kind.strip() for _, kind in backends]
    # Unset: Glance's default, every method (copy-image included).
    methods = get("DEFAULT", "enabled_import_methods", "['glance-direct', 'web-download', 'copy-image']")
    plugins = get("image_import_opts", "image_import_plugins")
    # From 2025.1 (30) Glance refuses data that does not match the image's
    # disk format unless [image_format] require_image_format_match is off.
    enforced = major >= 30 and get("image_format", "require_image_format_match", "true").lower() == "true"
    conf = {
        "DEFAULT": {"log_file": "tempest.log", "log_dir": f"{WORKSPACE}/logs"},
        "auth": {
            "use_dynamic_credentials": True,
            # No Neutron: no network per project.
            "create_isolated_networks": False,
            "admin_username": identity.get("admin_user", "admin"),
            "admin_password": PASSWORD_PLACEHOLDER,
            "admin_project_name": identity.get("admin_project", "admin"),
            "admin_domain_name": identity.get("admin_domain", "Default"),
            "default_credentials_domain_name": identity.get("admin_domain", "Default"),
        },
        "identity": {
            "uri_v3": identity["auth_url"],
            "auth_version": "v3",
            "region": region,
        },
        "image": {
            "region": region,
            "endpoint_type": "public",
            "http_image": http_image,
            "http_qcow2_image": http_image,
            "image_caching_enabled": bool((server.get("image_cache") or {}).get("enabled")),
        },
        # Options an older Tempest does not know are ignored by oslo.config.
        "image-feature-enabled": {
            "import_image": bool(methods.strip("[] ")),
            # Reserved since Wallaby.
            "os_glance_reserved": True,
            # Tempest's location tests need an http store besides.
            "manage_locations": bool(server.get("show_multiple_locations")) and "http" in store_types,
            "image_conversion": "image_conversion" in plugins,
            "image_format_enforcement": enforced,
            # os_hash_algo/os_hash_value since Rocky.
            "do_secure_hash": True,
            "http_store_enabled": "http" in store_types,
        },
        "service_available": {
            "glance": True,
            "nova": False,
            "cinder": False,
            "neutron": False,
            "swift": False,
            "horizon": False,
        },
        "validation": {"run_validation": False},
    }
    ssl = (server.get("bind") or {}).get("ssl") or {}
    if ssl.get("enabled") or identity["auth_url"].startswith("https:"):
        # Certificates verified, with the suite's CA (the one bundle the
        # pillar gives Glance's clients; else the system's CAs).
        ca = server["identity"].get("cacert_file") or ssl.get("cacert_file") or SYSTEM_CA_BUNDLE
        conf["identity"].update({"disable_ssl_certificate_validation": False, "ca_certificates_file": ca})
    return conf


def conf_text(sections):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    for section, options in sections.items():
        if section != "DEFAULT":
            parser.add_section(section)
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            # oslo.config expands $name: a literal $ is $$.
            parser.set(section, key, text.replace("$", "$$"))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def write_conf(host, sections, password):
    """tempest.conf, readable by root only, with PASSWORD for the
    placeholder (written as glance_checks writes its openrc: in a here
    document, never printed)."""
    text = conf_text(sections)
    assert PASSWORD_PLACEHOLDER in text
    text = text.replace(PASSWORD_PLACEHOLDER, password.replace("$", "$$"))
    write = host.run(f"rm -f {CONF_FILE} && umask 077 && cat > {CONF_FILE} <<'EOF'\n{text}EOF\n")
    assert write.rc == 0, "writing tempest.conf failed"
    conf = host.file(CONF_FILE)
    assert (conf.user, conf.mode) == ("root", 0o600)


def serve_http_image(host, source=None):
    """Starts HTTP_UNIT; returns the URL of HTTP_IMAGE_FILE. SOURCE: where
    to fetch the file from first, on a node whose image source is another
    host (the test services' port 8090 there is not one Glance's import
    filtering allows)."""
    if source:
        fetch = (f"import urllib.request; urllib.request.urlretrieve("
                 f"\"{source}/{HTTP_IMAGE_FILE}\", \"{HTTP_IMAGE_DIR}/{HTTP_IMAGE_FILE}\")")
        cmd = host.run(f"mkdir -p {HTTP_IMAGE_DIR} && python3 -c {shlex.quote(fetch)}")
        assert cmd.rc == 0, cmd.stderr
    # The address of the host's route out (a UDP connect sends nothing).
    probe = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
             "s.connect((\"192.0.2.1\", 9)); print(s.getsockname()[0])")
    address = host.run(f"python3 -c {shlex.quote(probe)}")
    assert address.rc == 0 and address.stdout.strip(), address.stderr
    address = address.stdout.strip()
    url = f"http://{address}/{HTTP_IMAGE_FILE}"
    cmd = host.run(f"systemctl stop {HTTP_UNIT} 2>/dev/null; systemctl reset-failed {HTTP_UNIT} 2>/dev/null; "
                   f"systemd-run --unit {HTTP_UNIT} /usr/bin/python3 -m http.server 80 --bind {address} "
                   f"--directory {HTTP_IMAGE_DIR}")
    assert cmd.rc == 0, cmd.stderr
    deadline = time.monotonic() + 30
    while host.run(f"python3 -c 'import urllib.request; urllib.request.urlopen(\"{url}\")'").rc != 0:
        assert time.monotonic() < deadline, f"{url} does not answer"
        time.sleep(1)
    return url


def run(host, version):
    """tempest run of TESTS in the workspace, less TEMPEST_EXCLUDED;
    returns (exit code, seconds)."""
    excluded = TEMPEST_EXCLUDED.get(version)
    exclude = ""
    if excluded:
        # Test ids end in [id-...,tags].
        exclude = " --exclude-regex " + shlex.quote("|".join(re.escape(t) + r"(\[|$)" for t in excluded))
    started = time.monotonic()
    cmd = host.run(f"cd {WORKSPACE} && PATH={TEMPEST_VENV}/bin:$PATH tempest run --regex {shlex.quote(TESTS)}"
                   f"{exclude} --concurrency {CONCURRENCY} > {WORKSPACE}/run.log 2>&1")
    return cmd.rc, time.monotonic() - started


def results(host):
    """{test id: status} of the last run (stestr's subunit stream as CSV;
    status: success, skip, fail, xfail, uxsuccess)."""
    cmd = host.run(f"cd {WORKSPACE} && {TEMPEST_VENV}/bin/stestr last --subunit | {TEMPEST_VENV}/bin/subunit2csv")
    # subunit2csv exits 1 when the stream holds failures.
    assert cmd.rc in (0, 1) and cmd.stdout.startswith("test,status"), cmd.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(cmd.stdout)))
    return {row["test"]: row["status"] for row in rows}


def tempest_release(platform, major, pypi):
    """The Tempest release for Glance MAJOR on PLATFORM (PYPI: installed
    from PyPI rather than the distribution's packages)."""
    if pypi:
        assert major in TEMPEST_FOR_PYPI, f"no Tempest release chosen for Glance {major}: TEMPEST_FOR_PYPI"
        return TEMPEST_FOR_PYPI[major]
    if platform not in TEMPEST_FOR_PLATFORM:
        pytest.skip(f"no Tempest release chosen for {platform} (Glance {major}): TEMPEST_FOR_PLATFORM")
    expected_major, version = TEMPEST_FOR_PLATFORM[platform]
    assert major == expected_major, (f"{platform} runs Glance {major}, not {expected_major}: "
                                     "choose its Tempest again")
    return version


def run_image_api(host, server, bootstrap, label, report, venv=None, image_source=None, remote_glance=None):
    """Installs Tempest, writes tempest.conf, runs TESTS and asserts that
    none failed. LABEL names the suite in the summary line that REPORT (a
    function of one line) prints. VENV: the virtualenv of a Glance from
    PyPI (else the distribution's). IMAGE_SOURCE: see serve_http_image.
    REMOTE_GLANCE: where HOST runs no Glance (a cluster's controller, in
    front of the API nodes), (glance-api.conf of an API node, parsed; its
    Glance major version; whether it is from PyPI). Returns the counts."""
    platform = platform_name(host)
    if remote_glance:
        api, major, pypi = remote_glance
    else:
        api, pypi = read_ini(host, API_CONF), bool(venv)
        major = glance_major(host, f"{venv}/bin/python" if venv else "python3")
    version = tempest_release(platform, major, pypi)
    install_seconds = install(host, version)
    http_image = serve_http_image(host, image_source)
    try:
        write_conf(host, derive_conf(server, bootstrap, api, major, http_image),
                   str(bootstrap["identity"]["admin_password"]))
        rc, run_seconds = run(host, version)
    finally:
        host.run(f"systemctl stop {HTTP_UNIT}")
    statuses = results(host)
    counts = {
        "passed": sum(1 for s in statuses.values() if s == "success"),
        "skipped": sum(1 for s in statuses.values() if s == "skip"),
        "failed": sum(1 for s in statuses.values() if s not in ("success", "skip")),
    }
    report(f"tempest {label} {platform}: {counts['passed']} passed, {counts['skipped']} skipped, "
           f"{counts['failed']} failed (Tempest {version} for Glance {major}; install {install_seconds:.0f}s, "
           f"run {run_seconds:.0f}s, concurrency {CONCURRENCY}; excluded by name: "
           f"{len(TEMPEST_EXCLUDED.get(version, []))})")
    failed = sorted(t for t, s in statuses.items() if s not in ("success", "skip"))
    if failed or rc != 0 or counts["passed"] == 0:
        log = host.run(f"tail -c 20000 {WORKSPACE}/run.log").stdout
        raise AssertionError(mask(f"tempest run exit {rc}; failed: {failed}\n{log}",
                                  pillar_secrets(server, bootstrap)))
    return counts
