"""
A virtualenv of Glance from PyPI, switched to only once it is complete.

.. code-block:: yaml

    glance-venv:
      glance_venv.installed:
        - name: /opt/glance/2026.2
        - python: /usr/bin/python3
        - requirements: [glance==33.0.0, pyuwsgi==2.0.30.post1, PyMySQL]
        - constraints: /opt/glance/2026.2.constraints.txt
        - no_binary: [simplegeneric]
        - link_modules: [rados, rbd]

``name`` is a symbolic link to the virtualenv that serves, a directory
beside it named after a digest of what it was built from
(``/opt/glance/2026.2-<digest>``). A build goes into a new directory of its
own, wheels only except the packages of ``no_binary``, pinned by the
``constraints`` file; the link moves to it only when everything is in
(``link_modules`` too: modules of the distribution's Python, such as Ceph's
bindings, which are built against the host's libraries), and the previous
directory is removed then. A failed or interrupted build never serves: the
next run removes it and starts again. The build's inputs are recorded in
the directory (``glance-formula-venv.json``), so a converged host is
recognised without running pip.

``glance_venv.previous_absent`` removes the other releases' virtualenvs
beside ``name`` (their links, build directories and constraints files),
once ``name`` serves; ``keep: true`` leaves them.

``index_url`` and ``find_links`` are pip's, for a site's own index or
wheels. ``timeout``: seconds pip may take.
"""
import hashlib
import json
import os
import re
import shutil

__virtualname__ = "glance_venv"

MARKER = "glance-formula-venv.json"
DIGEST_LENGTH = 12
# A build directory: <release>-<digest>.
BUILD = re.compile(r"^(?P<release>.+)-[0-9a-f]{" + str(DIGEST_LENGTH) + "}$")
# pip's one-line reasons, turned into what to do about them.
NO_DISTRIBUTION = re.compile(r"Could not find a version that satisfies the requirement (\S+)")
UNREACHABLE = re.compile(r"(Failed to establish a new connection|Name or service not known|"
                         r"Temporary failure in name resolution|Connection refused|Network is unreachable|"
                         r"Read timed out|ConnectTimeoutError)")
PINNED = re.compile(r"The user requested \(constraint\) (\S+)")
CONFLICT = re.compile(r"(ResolutionImpossible|conflicting dependencies|Cannot install .*)")


def __virtual__():
    return __virtualname__


def _digest(spec):
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:DIGEST_LENGTH]


def _spec(python, requirements, constraints, index_url, find_links, no_binary, link_modules):
    with open(constraints, "rb") as handle:
        constraints_sha256 = hashlib.sha256(handle.read()).hexdigest()
    return {
        "python": python,
        "requirements": list(requirements),
        "constraints_sha256": constraints_sha256,
        "index_url": index_url,
        "find_links": find_links,
        "no_binary": sorted(no_binary),
        "link_modules": sorted(link_modules),
    }


def _recorded(directory):
    try:
        with open(os.path.join(directory, MARKER), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _serving(name):
    """The directory NAME links to, or None."""
    if not os.path.islink(name):
        return None
    return os.path.join(os.path.dirname(name), os.readlink(name))


def _is_current(name, target, spec):
    recorded = _recorded(target)
    if _serving(name) != target or not recorded or recorded.get("spec") != spec:
        return False
    return all(os.path.exists(path) for path in recorded.get("links", []))


def _run(command, timeout=None):
    return __salt__["cmd.run_all"](command, python_shell=False, ignore_retcode=True, output_loglevel="quiet",
                                   timeout=timeout)


def _pip_failure(output, python, no_binary):
    """One line saying why pip failed, from its output. An unreachable
    index comes first: pip then also finds no version of anything."""
    unreachable = UNREACHABLE.search(output)
    if unreachable:
        return f"the package index could not be reached ({unreachable.group(1)})"
    allowed = f"wheels only for Python {python}, except {', '.join(no_binary) or 'none'}"
    missing = NO_DISTRIBUTION.search(output)
    if missing:
        package = _name(missing.group(1))
        return (f"no distribution of {missing.group(1)} that this host may install: {allowed}; give a wheel "
                f"(find_links) or allow building {package} (glance:server:install:build)")
    # With wheels only, a pinned package that has no wheel shows as a
    # conflict with its pin.
    pinned = PINNED.search(output)
    if pinned:
        package = _name(pinned.group(1))
        cause = "; ".join(line.strip() for line in output.split("The conflict is caused by:", 1)[-1].splitlines()
                          if " depends on " in line)
        return (f"no distribution of {pinned.group(1)} that this host may install ({allowed}), or a requirement "
                f"conflicts with that pin ({cause}); give a wheel (find_links) or allow building {package} "
                f"(glance:server:install:build)")
    conflict = CONFLICT.search(output)
    if conflict:
        return f"the requirements cannot be met together with the constraints: {conflict.group(0)[:300]}"
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "no output"


def _name(requirement):
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]


def _link_modules(python, venv, modules):
    """Symbolic links in VENV's site-packages to MODULES as PYTHON imports
    them; returns (links, problem)."""
    found = _run([f"{venv}/bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    if found["retcode"] != 0:
        return [], f"the virtualenv's Python does not run: {found['stderr'][-300:]}"
    site_packages = found["stdout"].strip()
    links = []
    for module in modules:
        where = _run([python, "-c", f"import {module}; print({module}.__file__)"])
        if where["retcode"] != 0:
            return links, (f"{python} cannot import {module}, which the virtualenv takes from the "
                           f"distribution (Ceph's python3-{module} package)")
        source = where["stdout"].strip()
        link = os.path.join(site_packages, os.path.basename(source))
        os.symlink(source, link)
        links.append(link)
    if modules:
        check = _run([f"{venv}/bin/python", "-c", "import " + ", ".join(modules)])
        if check["retcode"] != 0:
            return links, f"the virtualenv cannot import {', '.join(modules)}: {check['stderr'][-300:]}"
    return links, None


def _build(target, python, requirements, constraints, index_url, find_links, no_binary, timeout):
    """The virtualenv in TARGET; None, or why it failed."""
    made = _run([python, "-m", "venv", target])
    if made["retcode"] != 0:
        return f"{python} -m venv failed: {(made['stderr'] or made['stdout']).strip()[-300:]}"
    command = [f"{target}/bin/python", "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
               "--only-binary=:all:", "--constraint", constraints]
    if no_binary:
        command.append("--no-binary=" + ",".join(sorted(no_binary)))
    if index_url:
        command += ["--index-url", index_url]
    if find_links:
        command += ["--find-links", find_links]
    pip = _run(command + list(requirements), timeout=timeout)
    if pip["retcode"] != 0:
        version = _run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])["stdout"].strip()
        return "pip install failed: " + _pip_failure(pip["stdout"] + "\n" + pip["stderr"], version, no_binary)
    return None


def _switch(name, target):
    """Point NAME at TARGET in one rename."""
    temporary = f"{name}.switching"
    if os.path.lexists(temporary):
        os.remove(temporary)
    os.symlink(os.path.basename(target), temporary)
    os.replace(temporary, name)


def _builds(parent):
    """(release, path) of each build directory in PARENT (<release>-<digest>)."""
    for entry in sorted(os.listdir(parent)) if os.path.isdir(parent) else []:
        match = BUILD.match(entry)
        if match:
            yield match["release"], os.path.join(parent, entry)


def _others(name, keep):
    """The build directories of NAME but KEEP."""
    parent, base = os.path.split(name)
    return [path for release, path in _builds(parent) if release == base and path != keep]


def installed(name, python, requirements, constraints, index_url=None, find_links=None, no_binary=(),
              link_modules=(), timeout=1800):
    """The virtualenv NAME with REQUIREMENTS, built and switched to whole."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if not os.path.isfile(constraints):
        ret.update(result=False, comment=f"The constraints file {constraints} is missing")
        return ret
    spec = _spec(python, requirements, constraints, index_url, find_links, no_binary, link_modules)
    target = f"{name}-{_digest(spec)}"
    if _is_current(name, target, spec):
        ret["comment"] = f"{name} is current ({', '.join(requirements)})"
        return ret
    if os.path.exists(name) and not os.path.islink(name):
        ret.update(result=False, comment=f"{name} exists and is not the link this state manages; move it away")
        return ret
    changes = {"venv": {"old": _serving(name), "new": target}, "installed": list(requirements)}
    if __opts__["test"]:
        ret.update(result=None, comment=f"{name} would be built in {target} and switched to", changes=changes)
        return ret
    os.makedirs(os.path.dirname(name), exist_ok=True)
    if os.path.exists(target):
        shutil.rmtree(target)  # a build that did not finish
    problem = _build(target, python, requirements, constraints, index_url, find_links, no_binary, timeout)
    links = []
    if problem is None:
        links, problem = _link_modules(python, target, link_modules)
    if problem is not None:
        shutil.rmtree(target, ignore_errors=True)
        serving = _serving(name)
        kept = f"; {serving} still serves" if serving and os.path.isdir(serving) else ""
        ret.update(result=False, comment=f"{name}: {problem}{kept}")
        return ret
    with open(os.path.join(target, MARKER), "w", encoding="utf-8") as handle:
        json.dump({"spec": spec, "links": links}, handle, indent=1, sort_keys=True)
    _switch(name, target)
    for other in _others(name, target):
        shutil.rmtree(other, ignore_errors=True)
    ret.update(comment=f"{name} now serves {target}", changes=changes)
    return ret


def _previous(name):
    """The other releases' links, build directories and constraints files
    beside NAME: only directories this state built (they hold MARKER)."""
    parent, base = os.path.split(name)
    found = []
    for release, path in _builds(parent):
        if release != base and os.path.isfile(os.path.join(path, MARKER)):
            link = os.path.join(parent, release)
            found += [p for p in (link, f"{link}.constraints.txt") if os.path.lexists(p)] + [path]
    return sorted(set(found))


def previous_absent(name, keep=False):
    """No other release's virtualenv beside NAME (unless KEEP)."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    previous = _previous(name)
    if not previous:
        ret["comment"] = f"No other release beside {name}"
        return ret
    if keep:
        ret["comment"] = f"Kept beside {name} (keep_previous): {', '.join(previous)}"
        return ret
    if __opts__["test"]:
        ret.update(result=None, comment=f"Would remove {', '.join(previous)}", changes={"removed": previous})
        return ret
    for path in previous:
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
    ret.update(comment=f"Removed the other releases beside {name}", changes={"removed": previous})
    return ret
