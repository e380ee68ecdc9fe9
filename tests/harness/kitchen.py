"""The suites and platforms of `.kitchen.yml`, as the harness runs them.

`.kitchen.yml` is the single source of truth: each suite's pillars
(`provisioner.pillars` + `provisioner.pillars_from_files`), its state top
(`provisioner.state_top`) and its testinfra directory (the
`tests/integration/<dir>` named in `verifier.command`) come from there.
Suites sharing `driver.run_options.network` form one group of nodes.
"""
import dataclasses
import re

import yaml

from . import REPO_ROOT

KITCHEN_YML = REPO_ROOT / ".kitchen.yml"
VERIFIER_DIR = re.compile(r"(tests/integration/[\w.-]+)")
# The test-only service states (tests/salt/test_services).
SERVICE_STATES = "test_services"


@dataclasses.dataclass
class Node:
    """One kitchen suite: one container."""

    name: str
    state_top: dict
    pillars: dict  # file name -> content (already parsed)
    pillar_files: dict  # file name -> repo-relative source path
    verifier_dir: str | None
    hostname: str | None = None
    aliases: list = dataclasses.field(default_factory=list)
    # SLS trees outside the formula: name -> repo-relative path (kitchen-salt
    # `dependencies` with a `path`).
    dependencies: dict = dataclasses.field(default_factory=dict)
    # `driver.run_options.tmpfs`: tmpfs mounts, PATH[:OPTIONS] as for
    # `docker run --tmpfs` (kitchen-docker passes them as --tmpfs=...).
    tmpfs: list = dataclasses.field(default_factory=list)

    @property
    def service_host(self):
        """True when every state the node applies is a test service (the
        cluster's controller): it installs nothing of the formula's, so the
        harness may start it from an image with those services' packages
        (images.ensure_services_image)."""
        states = self.states()
        return bool(states) and self.fixture_states() == states

    def fixture_states(self):
        """The test services among the node's states (a Glance node's: what a
        site's own configuration leaves on it, such as its CA)."""
        return [s for s in self.states() if s == SERVICE_STATES or s.startswith(SERVICE_STATES + ".")]

    def states(self, saltenv="base"):
        """The SLS names the top file assigns to this node."""
        result = []
        for targets in (self.state_top.get(saltenv) or {}).values():
            result += [s for s in targets if isinstance(s, str)]
        return result


@dataclasses.dataclass
class Group:
    """Nodes converged and verified together (one node for most suites)."""

    name: str
    nodes: list
    network: str | None = None  # the name in .kitchen.yml, if any


def load(path=KITCHEN_YML):
    with open(path) as fh:
        return yaml.safe_load(fh)


def platforms(config=None):
    config = config or load()
    return [p["name"] for p in config.get("platforms", [])]


def _merge(base, over):
    """Test Kitchen's deep merge of common and suite configuration."""
    result = dict(base or {})
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def _node(suite, config):
    name = suite["name"]
    prov = _merge(config.get("provisioner"), suite.get("provisioner"))
    driver = _merge(config.get("driver"), suite.get("driver"))
    run_options = driver.get("run_options") or {}
    if not prov.get("state_top"):
        raise ValueError(f"suite {name}: provisioner.state_top is required")
    command = (suite.get("verifier") or {}).get("command", "")
    match = VERIFIER_DIR.search(command)
    pillar_files = dict(prov.get("pillars_from_files") or {})
    for src in pillar_files.values():
        if not (REPO_ROOT / src).is_file():
            raise ValueError(f"suite {name}: pillar file {src} does not exist")
    aliases = run_options.get("network-alias") or []
    tmpfs = run_options.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else list(tmpfs)
    for spec in tmpfs:
        if not str(spec).startswith("/"):
            raise ValueError(f"suite {name}: tmpfs {spec!r}: not an absolute path")
    for spec in driver.get("volume") or []:
        # Host paths are for Docker users' hosts (the cgroup mount); podman's
        # --systemd=always sets up what systemd needs. Named volumes are
        # not mounted here: refused rather than silently left out.
        if not str(spec).startswith(("/", ".", "~")):
            raise ValueError(f"suite {name}: volume {spec!r}: the harness mounts no named volumes")
    dependencies = {}
    for dep in prov.get("dependencies") or []:
        if "path" not in dep:
            raise ValueError(f"suite {name}: dependency {dep.get('name')} has no path; "
                             "the harness mounts local paths only")
        if not (REPO_ROOT / dep["path"]).is_dir():
            raise ValueError(f"suite {name}: dependency path {dep['path']} does not exist")
        dependencies[dep["name"]] = dep["path"]
    return Node(
        name=name,
        state_top=prov["state_top"],
        pillars=dict(prov.get("pillars") or {}),
        pillar_files=pillar_files,
        verifier_dir=match.group(1) if match else None,
        hostname=driver.get("hostname"),
        aliases=[aliases] if isinstance(aliases, str) else list(aliases),
        dependencies=dependencies,
        tmpfs=tmpfs,
    ), run_options.get("network")


def groups(config=None):
    """All suites of .kitchen.yml, grouped, in file order."""
    config = config or load()
    result = []
    by_network = {}
    for suite in config.get("suites", []):
        node, network = _node(suite, config)
        if network is None:
            result.append(Group(name=node.name, nodes=[node]))
        elif network in by_network:
            by_network[network].nodes.append(node)
        else:
            group = Group(name=network, nodes=[node], network=network)
            by_network[network] = group
            result.append(group)
    for group in by_network.values():
        group.name = _common_prefix([n.name for n in group.nodes]) or group.network
    return result


def _common_prefix(names):
    """"cluster-controller", "cluster-primary" -> "cluster"."""
    parts = [n.split("-") for n in names]
    common = []
    for words in zip(*parts):
        if len(set(words)) != 1:
            break
        common.append(words[0])
    return "-".join(common)


def select(names, config=None):
    """Groups matching NAMES (suite names, group names or, where no suite
    has the very name, suite-name prefixes such as `cluster` for
    `cluster-*`); all groups if NAMES is empty.
    Unknown names are an error, so a typo cannot silently run nothing."""
    every = groups(config)
    if not names:
        return every
    chosen = []
    for wanted in names:
        # An exact name wins: `single` is not also `single-ceph`.
        hits = [g for g in every if g.name == wanted or any(n.name == wanted for n in g.nodes)]
        hits = hits or [g for g in every if any(n.name.startswith(wanted + "-") for n in g.nodes)]
        if not hits:
            raise ValueError(f"no suite {wanted!r} in .kitchen.yml; known: {[g.name for g in every]}")
        chosen += [g for g in hits if g not in chosen]
    return chosen


def suite_pillar(name, config=None):
    """The pillar suite NAME's node gets: its pillar files parsed and merged
    in the order of its pillar top file, later over earlier (Salt's
    recursive merge: mappings merged, anything else replaced)."""
    [node] = [n for g in groups(config) for n in g.nodes if n.name == name]
    top = node.pillars.get("top.sls") or {}
    order = [entry for targets in (top.get("base") or {}).values() for entry in targets if isinstance(entry, str)]
    merged = {}
    for entry in order:
        source = node.pillar_files.get(f"{entry}.sls")
        data = yaml.safe_load((REPO_ROOT / source).read_text()) if source else node.pillars.get(f"{entry}.sls")
        merged = _merge(merged, data or {})
    return merged
