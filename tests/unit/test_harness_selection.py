"""The converge harness says which platforms of .kitchen.yml it does not run,
instead of dropping them unsaid."""
import importlib.util
import sys

from saltrender import REPO

sys.path.insert(0, str(REPO))

from tests.harness import images, kitchen, selection  # noqa: E402


def test_every_declared_platform_is_run_or_reported():
    declared = kitchen.platforms()
    skipped = selection.not_converged_here()
    assert skipped, "the Ubuntu and Rocky platforms of .kitchen.yml have no base image here"
    assert sorted(skipped + [p for p in declared if p in images.PLATFORMS]) == sorted(declared)


def test_the_converge_run_prints_them():
    # By path: tests/unit has a conftest of its own under the same name.
    spec = importlib.util.spec_from_file_location("converge_conftest", REPO / "tests" / "integration" / "conftest.py")
    converge_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converge_conftest)

    line = converge_conftest.skipped_platforms_line()
    for platform in selection.not_converged_here():
        assert platform in line
