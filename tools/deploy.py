#!/usr/bin/env python3
"""`make deploy`: apply the formula to this host with a Salt of its own.

    make deploy                      # standalone Glance, the formula's defaults
    make deploy PILLAR=my.sls        # Glance from your pillar file
    make deploy SCENARIO=single      # MariaDB, RabbitMQ, Keystone and Glance

Runs as root on a Debian or RedHat family host that has python3 with venv.
It installs what pip needs to build Salt (a C compiler and the Python
headers) with the OS package manager when they are missing, the pinned Salt
of salt-requirements.txt into .cache/deploy/venv, and nothing else: the
formula brings the Python libraries its states need (glance.salt_deps).
It prints a short result: the states that changed or failed, a count, and
how to reach Glance; a bad pillar prints its one line.

SCENARIO names a single-node suite of .kitchen.yml (its state top, pillars
and test-only states), so the demo is exactly what the suite tests.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DEPLOY_DIR = REPO / ".cache" / "deploy"
VENV = DEPLOY_DIR / "venv"
PIN_FILE = REPO / "salt-requirements.txt"
# What the minion's file root holds from the repository.
FILE_ROOT_ENTRIES = ("glance", "_modules", "_states")

BUILD_PREREQUISITES = {
    # package manager -> packages: a C compiler and the Python headers
    # (Salt's dependency timelib is published as source only).
    "apt-get": ["gcc", "python3-dev"],
    "dnf": ["gcc", "python3-devel"],
}


def say(text=""):
    print(text, flush=True)


def fail(text, status=1):
    say(text)
    sys.exit(status)


def run_quietly(cmd, what, env=None):
    """Run CMD with its output kept; on failure show the end of it."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        fail(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


# -- phase 1, with the system's python3: prerequisites and Salt -------------


def has_build_prerequisites():
    headers = pathlib.Path(sysconfig.get_paths()["include"]) / "Python.h"
    return bool(shutil.which("gcc")) and headers.is_file()


def install_build_prerequisites():
    manager = next((name for name in BUILD_PREREQUISITES if shutil.which(name)), None)
    if manager is None:
        fail("deploy: neither apt-get nor dnf found: install a C compiler and the Python headers, then run again")
    packages = BUILD_PREREQUISITES[manager]
    say(f"Installing what pip needs to build Salt: {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if manager == "apt-get":
        run_quietly(["apt-get", "update", "-qq"], "apt-get update", env)
    run_quietly([manager, "install", "-y", "-q", *packages], f"{manager} install", env)


def ensure_salt():
    """The venv with the pinned Salt; rebuilt only when the pin changes."""
    pins = PIN_FILE.read_text()
    stamp = VENV / ".salt-requirements"
    if stamp.is_file() and stamp.read_text() == pins and (VENV / "bin" / "salt-call").exists():
        return
    if not has_build_prerequisites():
        install_build_prerequisites()
    start = time.monotonic()
    say("Installing Salt into .cache/deploy/venv (a few minutes)")
    shutil.rmtree(VENV, ignore_errors=True)
    run_quietly([sys.executable, "-m", "venv", str(VENV)], "python3 -m venv")
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    run_quietly([*pip, "install", "--upgrade", "pip"], "pip install --upgrade pip")
    run_quietly([*pip, "install", "-r", str(PIN_FILE)], "pip install -r salt-requirements.txt")
    stamp.write_text(pins)
    say(f"Salt installed in {time.monotonic() - start:.0f} s")


# -- phase 2, with the venv's Python: configuration, apply, report ----------


def suite(name):
    """A single-node suite of .kitchen.yml, as the converge harness reads it."""
    sys.path.insert(0, str(REPO))
    from tests.harness import kitchen

    groups = kitchen.select([name])
    nodes = [node for group in groups for node in group.nodes]
    if len(nodes) != 1:
        fail(f"deploy: SCENARIO={name} is a suite of {len(nodes)} hosts; make deploy sets up one host")
    return nodes[0]


def write_config(pillar_file, scenario, pypi_release=None):
    """The generated top file, pillar and minion configuration; returns the
    glance pillar. PYPI_RELEASE: that release from PyPI, over the pillar."""
    import yaml

    salt_dir, pillar_dir, file_root = (DEPLOY_DIR / d for d in ("salt", "pillar", "file_root"))
    for directory in (salt_dir, pillar_dir, file_root):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    for entry in FILE_ROOT_ENTRIES:
        (file_root / entry).symlink_to(REPO / entry)
    pillars = {}
    if scenario:
        node = suite(scenario)
        top = node.state_top
        for name, path in node.dependencies.items():
            (file_root / name).symlink_to(REPO / path)
        pillars = {name: (REPO / src).read_text() for name, src in node.pillar_files.items()}
        pillars.update({name: yaml.safe_dump(data) for name, data in node.pillars.items()})
        pillars.setdefault("top.sls", yaml.safe_dump({"base": {"*": [n[:-4] for n in node.pillar_files]}}))
    else:
        top = {"base": {"*": ["glance"]}}
        pillars["glance.sls"] = pathlib.Path(pillar_file).read_text() if pillar_file else "{}\n"
        pillars["top.sls"] = yaml.safe_dump({"base": {"*": ["glance"]}})
    if pypi_release:
        pillars["glance.sls"] = yaml.safe_dump(with_pypi(yaml.safe_load(pillars["glance.sls"]) or {}, pypi_release))
    (salt_dir / "top.sls").write_text(yaml.safe_dump(top))
    for name, text in pillars.items():
        path = pillar_dir / name
        path.write_text(text)
        path.chmod(0o600)  # pillars hold passwords
    minion = {
        "file_client": "local",
        # The generated top file first, so no top.sls in the repository shadows it.
        "file_roots": {"base": [str(salt_dir), str(file_root)]},
        "pillar_roots": {"base": [str(pillar_dir)]},
        # Salt's state of its own under .cache/deploy, apart from any other
        # Salt on the host. Not through root_dir: Salt would prepend it to
        # log_file too.
        "cachedir": str(DEPLOY_DIR / "cache"),
        "pki_dir": str(DEPLOY_DIR / "pki"),
        "sock_dir": str(DEPLOY_DIR / "sock"),
        "log_file": str(DEPLOY_DIR / "salt.log"),
        "log_level_logfile": "info",
        "state_output": "changes",
    }
    (DEPLOY_DIR / "minion").write_text(yaml.safe_dump(minion))
    return yaml.safe_load(pillars.get("glance.sls") or "{}") or {}


def with_pypi(pillar, release):
    """PILLAR with Glance RELEASE installed from PyPI."""
    server = pillar.setdefault("glance", {}).setdefault("server", {})
    server["version"] = release
    server.setdefault("install", {})["method"] = "pypi"
    return pillar


def salt_call(*args):
    env = dict(os.environ)
    # Salt imports Python's deprecated crypt module: a warning on every run
    # that says nothing about this deployment.
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    cmd = [str(VENV / "bin" / "salt-call"), "--local", "-c", str(DEPLOY_DIR),
           # Salt's log goes to its file only (render errors would print
           # tracebacks); see logged_problems.
           "--out=json", "--log-level=quiet", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def render_errors(errors):
    """The formula's one-line messages out of Salt's render errors (which
    carry the template and a traceback), each once."""
    lines = []
    for error in errors:
        match = re.search(r"(?:Jinja error|Rendering SLS [^:]+ failed): (.*)", str(error))
        line = (match.group(1) if match else str(error)).splitlines()[0]
        line = re.sub(r"^Jinja error: ", "", line)
        if line not in lines:
            lines.append(line)
    return lines


def report(proc, seconds):
    """Print the result; return True when every state succeeded."""
    try:
        result = json.loads(proc.stdout)["local"]
    except (ValueError, KeyError, TypeError):
        say(proc.stderr.strip())
        fail(f"salt-call printed no result (exit {proc.returncode}); see {DEPLOY_DIR / 'salt.log'}")
    if isinstance(result, list):
        for line in render_errors(result):
            say(line)
        say("Nothing was changed.")
        return False
    states = sorted(result.values(), key=lambda s: s.get("__run_num__", 0))
    changed = [s for s in states if s.get("changes") and s.get("result") is not False]
    failed = [s for s in states if s.get("result") is False]
    for state in changed:
        say(f"  changed: {state.get('__id__')}")
    for state in failed:
        comment = " ".join(str(state.get("comment", "")).split())
        say(f"  FAILED:  {state.get('__id__')}: {comment[:2000]}")
    say(f"glance: {len(states)} states, {len(changed)} changed, {len(failed)} failed in {seconds:.0f} s")
    return not failed and proc.returncode == 0


LOG_PROBLEM = re.compile(r"\[(WARNING|ERROR|CRITICAL)\s*\]\[\d+\] (.*)")


def logged_problems(offset):
    """Warnings and errors Salt logged from OFFSET of its log file on."""
    log = DEPLOY_DIR / "salt.log"
    if not log.is_file():
        return []
    with open(log, errors="replace") as fh:
        fh.seek(offset)
        found = [f"[{m.group(1)}] {m.group(2)}" for m in map(LOG_PROBLEM.search, fh) if m]
    return list(dict.fromkeys(found))


def formula_derive():
    """The formula's glance/lib/derive.py (plain Python), for the rule that
    turns a bind address into the address clients use."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("glance_derive", REPO / "glance" / "lib" / "derive.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def how_to_use(pillar):
    server = (pillar.get("glance") or {}).get("server") or {}
    bind = server.get("bind") or {}
    address, port = bind.get("address", "127.0.0.1"), bind.get("port", 9292)
    ssl = bind.get("ssl") or {}
    url = formula_derive().api_endpoint(address, port, "https" if ssl.get("enabled") else "http")
    say(f"Glance API: {url} (listening on {address}:{port})")
    identity = server.get("identity") or {}
    # The one CA bundle the pillar gives Glance's clients: Keystone's (then
    # covering the API too), else the API's own.
    cacert = identity.get("cacert_file") or (ssl.get("cacert_file") if ssl.get("enabled") else None)
    if not identity or identity.get("engine") == "noauth":
        say("No Keystone: Glance trusts every caller, so keep it on a trusted address. Try:")
        say(f"  curl -s {f'--cacert {cacert} ' if cacert else ''}{url}/v2/images")
        if not shutil.which("curl"):
            say("(curl is not installed here: apt-get install curl, or dnf install curl)")
        return
    admin = ((pillar.get("glance") or {}).get("bootstrap") or {}).get("identity") or {}
    if not admin.get("admin_password"):
        say(f"Keystone: {identity.get('host')}; list images with the openstack client and your credentials.")
        return
    openrc = DEPLOY_DIR / "openrc"
    settings = {
        "OS_AUTH_URL": admin.get("auth_url", f"http://{identity.get('host')}:{identity.get('port', 5000)}/v3"),
        "OS_USERNAME": admin.get("admin_user", "admin"),
        "OS_PASSWORD": admin["admin_password"],
        "OS_PROJECT_NAME": admin.get("admin_project", "admin"),
        "OS_USER_DOMAIN_NAME": admin.get("admin_domain", "Default"),
        "OS_PROJECT_DOMAIN_NAME": admin.get("admin_domain", "Default"),
        "OS_REGION_NAME": identity.get("region", "RegionOne"),
        "OS_IMAGE_API_VERSION": "2",
    }
    if cacert:
        settings["OS_CACERT"] = cacert
    openrc.touch(mode=0o600)
    openrc.write_text("".join(f"export {key}='{value}'\n" for key, value in settings.items()))
    say(f"Keystone's administrator credentials are in {openrc.relative_to(REPO)} (readable by root only). Try:")
    say(f"  . {openrc.relative_to(REPO)}")
    say("  openstack token issue -c expires")
    say("  openstack image list      # the client: apt-get install python3-openstackclient")


def apply(pillar_file, scenario, pypi_release=None):
    pillar = write_config(pillar_file, scenario, pypi_release)
    log = DEPLOY_DIR / "salt.log"
    offset = log.stat().st_size if log.is_file() else 0
    start = time.monotonic()
    proc = salt_call("--retcode-passthrough", "state.apply")
    ok = report(proc, time.monotonic() - start)
    if not ok:
        fail(f"Salt's log: {log.relative_to(REPO)}")
    # A successful run should log no problem; show any, not bury them.
    for line in logged_problems(offset):
        say(f"Salt logged: {line}")
    how_to_use(pillar)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pillar", help="a pillar file with the glance key")
    parser.add_argument("--scenario", help="a single-node suite of .kitchen.yml, e.g. single")
    parser.add_argument("--pypi", metavar="RELEASE",
                        help="Glance RELEASE from PyPI (glance:server:install:method pypi), e.g. 2026.2")
    parser.add_argument("--apply", action="store_true", help=argparse.SUPPRESS)  # phase 2
    args = parser.parse_args()
    if args.pillar and args.scenario:
        fail("deploy: give PILLAR or SCENARIO, not both", 2)
    if args.pillar and not pathlib.Path(args.pillar).is_file():
        fail(f"deploy: PILLAR={args.pillar}: no such file", 2)
    if args.apply:
        apply(args.pillar, args.scenario, args.pypi)
        return
    if os.geteuid() != 0:
        fail("deploy: run it as root (sudo make deploy): it installs packages and services", 2)
    DEPLOY_DIR.mkdir(parents=True, exist_ok=True)
    DEPLOY_DIR.chmod(0o700)
    ensure_salt()
    os.execv(str(VENV / "bin" / "python"), [str(VENV / "bin" / "python"), __file__, "--apply", *sys.argv[1:]])


if __name__ == "__main__":
    main()
