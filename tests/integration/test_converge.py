"""Two-apply protocol of every suite group on every platform, then the
suite's testinfra tests: one class per group and platform, whose unit of
work (tests/harness/converge.py) the scheduler runs beside the others. See
tests/integration/conftest.py for the setup."""
import re

import pytest

from tests.harness import REPO_ROOT, kitchen
from tests.harness.converge import converge_unit
from tests.harness.salt import describe
from tests.harness.selection import scenarios
from tests.harness.verify import pillar_secrets


def _nodes(converged):
    return converged.deployment.group.nodes


@pytest.fixture(scope="class")
def converged(unit_result):
    return unit_result


class ConvergeProtocol:
    """Subclassed per suite group and platform below."""

    group = None
    platform = None

    @classmethod
    def unit_key(cls):
        return (cls.group.name, cls.platform)

    @classmethod
    def unit(cls):
        return converge_unit(cls.group, cls.platform)

    def test_first_apply_has_no_failures(self, converged):
        problems = []
        for node in _nodes(converged):
            run = converged.runs[(node.name, "first apply")]
            if run.errors:
                problems.append(f"{node.name}: state.apply did not run:\n" + "\n".join(run.errors))
            elif run.failed():
                problems.append(f"{node.name}: failed states:\n{describe(run.failed())}")
        if problems:
            pytest.fail("first state.apply:\n" + "\n".join(problems), pytrace=False)

    def test_second_apply_changes_nothing(self, converged):
        problems = []
        for node in _nodes(converged):
            run = converged.runs[(node.name, "second apply")]
            if run.errors:
                problems.append(f"{node.name}: state.apply did not run:\n" + "\n".join(run.errors))
            elif run.failed() or run.changed():
                problems.append(f"{node.name}: failed states:\n{describe(run.failed())}\n"
                                f"changed states:\n{describe(run.changed())}")
        if problems:
            pytest.fail("second state.apply is not idempotent:\n" + "\n".join(problems), pytrace=False)

    def test_dry_run_predicts_no_changes(self, converged):
        problems = []
        for node in _nodes(converged):
            run = converged.runs[(node.name, "test=True apply")]
            if run.errors:
                problems.append(f"{node.name}: state.apply test=True did not run:\n" + "\n".join(run.errors))
            elif run.failed() or run.predicted():
                problems.append(f"{node.name}: failed states:\n{describe(run.failed())}\n"
                                f"predicted changes (result None or changes):\n{describe(run.predicted())}")
        if problems:
            pytest.fail("state.apply test=True after converging:\n" + "\n".join(problems), pytrace=False)

    def test_state_output_has_no_secrets(self, converged):
        problems = []
        for node in _nodes(converged):
            secrets = pillar_secrets(node)
            for (name, label), run in converged.runs.items():
                if name != node.name:
                    continue
                for key, value in run.states.items():
                    text = repr(value)
                    hits = sum(1 for s in secrets if s in text)
                    if hits:
                        problems.append(f"{name} {label}: {value.get('__id__', key)} shows {hits} pillar secret(s)")
                if any(s in run.raw for s in secrets) and not problems:
                    problems.append(f"{name} {label}: output shows a pillar secret")
        if problems:
            pytest.fail("secrets in state output:\n" + "\n".join(problems), pytrace=False)

    def test_testinfra(self, converged):
        dep = converged.deployment
        nodes = [n for n in _nodes(converged) if n.verifier_dir]
        assert nodes, f"suite group {dep.group.name} has no verifier command naming tests/integration/<dir>"
        failures = []
        for node in nodes:
            assert (REPO_ROOT / node.verifier_dir).is_dir(), f"{node.verifier_dir} does not exist"
            if node.name not in converged.testinfra:
                failures.append(f"{node.name}: {node.verifier_dir} did not run")
                continue
            proc, _ = converged.testinfra[node.name]
            if proc.returncode != 0:
                failures.append(f"{node.name}: {node.verifier_dir} exit {proc.returncode}\n{proc.stdout[-6000:]}")
        if failures:
            pytest.fail("testinfra:\n" + "\n".join(failures), pytrace=False)


def _camel(text):
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", text))


for _group, _platform in scenarios():
    _name = f"Test{_camel(_group.name)}On{_camel(_platform)}"
    globals()[_name] = type(_name, (ConvergeProtocol,), {"group": _group, "platform": _platform})


def test_kitchen_salt_pins_match_base_images():
    """Kitchen users get the same Salt as the harness's base images and
    `make deploy` (salt-requirements.txt)."""
    pins = [line.strip() for line in
            (REPO_ROOT / "salt-requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    config = kitchen.load()
    for platform in config["platforms"]:
        commands = " ".join(platform.get("driver", {}).get("provision_command", []))
        installed = re.findall(r"\S+==\S+", commands)
        assert sorted(installed) == sorted(pins), f"{platform['name']}: {installed} != {pins}"
