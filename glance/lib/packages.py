"""Which of the formula's packages are not installed, asked of dpkg or rpm.

glance.server.install runs this file at render time, in Salt's own process,
through the py renderer:

    salt['slsutil.renderer']('salt://glance/lib/packages.py',
                             default_renderer='py', PKGS=[...],
                             OS_FAMILY=grains['os_family'])

and renders pkg.installed (and the service masks that must precede a first
installation) only when something is missing. On a converged host that
saves Salt's pkg.list_pkgs, which reads the whole package database (more
than half a second on every apply); one query for a handful of names costs
a few milliseconds. Any doubt (an unknown family, a failed query, a name
the database does not know, such as a virtual package) counts as missing,
so the full pkg.installed runs and decides.
"""
import subprocess

# Given by the py renderer (keyword arguments of slsutil.renderer).
PKGS = None
OS_FAMILY = None

# One line per installed package named: "<name>\tinstalled".
QUERIES = {
    # db:Status-Abbrev is e.g. "ii " (installed) or "rc " (removed, its
    # configuration left): the second letter is the current state.
    "Debian": (["dpkg-query", "--show", "--showformat=${Package}\t${db:Status-Abbrev}\n"],
               lambda status: status[1:2] == "i"),
    # rpm prints "package <name> is not installed" (no tab) for the others.
    "RedHat": (["rpm", "--query", "--queryformat=%{NAME}\tii\n"], lambda status: True),
}
TIMEOUT = 60


def run():
    return missing(PKGS, OS_FAMILY)


def missing(pkgs, os_family, run_command=subprocess.run):
    """The names of PKGS that are not installed, in their order."""
    if os_family not in QUERIES or not pkgs:
        return list(pkgs or [])
    command, is_installed = QUERIES[os_family]
    try:
        proc = run_command(command + list(pkgs), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return list(pkgs)
    installed = set()
    for line in proc.stdout.splitlines():
        name, tab, status = line.partition("\t")
        if tab and is_installed(status):
            installed.add(name)
    return [name for name in pkgs if name not in installed]
