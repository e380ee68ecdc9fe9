"""Checks shared by the suites' testinfra tests. Everything runs inside the
converged host through testinfra's `host` (podman:// here, docker:// under
Kitchen), with the host's own tools."""
import configparser
import json
import shlex
import time

API_CONF = "/etc/glance/glance-api.conf"
# Namespaces of Glance's own generator config for glance-api.conf
# (etc/oslo-config-generator/glance-api.conf, the same from Zed to 2025.1).
VALIDATOR_NAMESPACES = [
    "castellan.config", "glance.api", "glance.store", "os_brick", "glance.multi_store",
    "oslo.concurrency", "oslo.messaging", "oslo.db", "oslo.policy",
    "keystonemiddleware.auth_token", "oslo.limit", "oslo.log", "oslo.middleware.cors",
    "oslo.middleware.healthcheck", "oslo.middleware.http_proxy_to_wsgi", "oslo.reports",
]


def read_ini(host, path):
    # No default section: configparser would merge [DEFAULT] into every
    # section, and each section is asserted on its own.
    parser = configparser.ConfigParser(interpolation=None, strict=False, default_section="__none__")
    parser.optionxform = str
    parser.read_string(host.file(path).content_string)
    return parser


def wait_listening(host, address, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.socket(f"tcp://{address}").is_listening:
            return
        time.sleep(2)
    raise AssertionError(f"nothing listens on {address} after {seconds} s")


def assert_private(host, path):
    conf = host.file(path)
    assert conf.is_file, path
    assert (conf.user, conf.group, conf.mode) == ("root", "glance", 0o640), path


def assert_service_running(host, name):
    # systemctl itself: Salt's service result proves nothing.
    active = host.run(f"systemctl is-active {name}")
    enabled = host.run(f"systemctl is-enabled {name}")
    assert active.stdout.strip() == "active", active.stdout + active.stderr
    assert enabled.stdout.strip() == "enabled", enabled.stdout + enabled.stderr


def assert_schema_current(host):
    cmd = host.run(f"runuser -u glance -- glance-manage --config-file {API_CONF} db check")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def assert_config_valid(host):
    """oslo-config-validator finds no unknown or removed option in
    glance-api.conf against the Glance installed on the host. Store sections
    are named by the operator, so those groups cannot be validated."""
    conf = read_ini(host, API_CONF)
    dynamic = ["os_glance_staging_store", "os_glance_tasks_store"]
    if conf.has_option("DEFAULT", "enabled_backends"):
        dynamic += [item.split(":")[0].strip() for item in conf.get("DEFAULT", "enabled_backends").split(",")]
    args = " ".join(f"--namespace {ns}" for ns in VALIDATOR_NAMESPACES)
    args += "".join(f" --exclude-group {group}" for group in dynamic if conf.has_section(group))
    cmd = host.run(f"oslo-config-validator {args} --input-file {API_CONF}")
    assert cmd.rc == 0, cmd.stdout[-3000:] + cmd.stderr[-3000:]


def assert_clean_logs(host):
    logs = host.run("ls /var/log/glance/*.log")
    assert logs.rc == 0 and logs.stdout.split(), "no log file in /var/log/glance"
    hits = host.run("grep -n -E 'ERROR|Traceback' /var/log/glance/*.log")
    assert hits.rc == 1, f"errors in the Glance logs:\n{hits.stdout[-4000:]}"


def assert_secrets_not_on_command_lines(host, secrets):
    processes = host.run("ps -eo args")
    assert processes.rc == 0
    for secret in secrets:
        assert secret not in processes.stdout, "a password shows on a process command line"


def openstack(host, credentials, command, output=True):
    """Runs the openstack CLI with the given OS_* settings, from a file
    readable by root only (not on a command line), and parses its JSON
    output (`output=False` for commands that print nothing)."""
    env = "".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in credentials.items())
    path = "/root/.glance-test-openrc"
    write = host.run(f"umask 077 && cat > {path} <<'EOF'\n{env}EOF")
    assert write.rc == 0, write.stderr
    cmd = host.run(f". {path} && openstack {command}" + (" -f json" if output else ""))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout) if cmd.stdout.strip() else None
