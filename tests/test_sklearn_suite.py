"""scikit-learn's own GaussianMixture tests, run against gmm_core.GaussianMixture.

The test file ``sklearn/mixture/tests/test_gaussian_mixture.py`` is read from the
installed scikit-learn at test time (it is not copied into this repository). Only
its import lines change: ``GaussianMixture``, ``ConvergenceWarning`` and
``NotFittedError`` come from gmm_core instead of scikit-learn. The rewritten file
is written to a temporary directory and run by pytest in a subprocess.

How the inner run is configured, and why:

* ``-c <tmp>/pytest.ini`` (an empty ``[pytest]`` section) and ``--rootdir <tmp>``:
  this repository's pyproject settings (``filterwarnings = error``,
  ``--strict-markers``) must not leak in, since the suite was written for
  scikit-learn's own configuration.
* ``-p sklearn.conftest``: scikit-learn's conftest, loaded as a plugin, supplies
  the suite's fixtures (``global_dtype``, ``global_random_seed``) exactly as in
  scikit-learn's own runs.
* ``SKLEARN_WARNINGS_AS_ERRORS=1``: scikit-learn's CI setting (deprecation and
  future warnings are errors; a ConvergenceWarning the suite expects is not).
* ``SKLEARN_RUN_FLOAT32_TESTS=1``: the float32 variants run too (float32 in,
  float32 out).
* ``-W ignore::pytest.PytestRemovedIn10Warning``: newer pytest deprecates the
  suite's generator in ``parametrize``; that is about the test file, not the
  estimator, and with deprecation warnings as errors it would stop collection.
* ``-p no:cacheprovider``: nothing is written next to the temporary file.

Every test must pass except the few in ``EXCLUDED``, which test scikit-learn's
private functions rather than the estimator (deselected, each with its reason),
and the array-API variants that skip themselves when the array library is not
installed (``SKIPPED_WHEN_MISSING``). (Tried by hand with ``SCIPY_ARRAY_API=1``:
the 16 numpy-namespace cases of ``test_gaussian_mixture_array_api_compliance``
pass too, and ``test_gaussian_mixture_raises_where_array_api_not_implemented``
fails, as it asserts scikit-learn's own limitation - no k-means starts under
``array_api_dispatch`` - which gmm_core does not have; so the run keeps
scikit-learn's default, SCIPY_ARRAY_API unset.)
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE_MODULE = "sklearn.mixture.tests.test_gaussian_mixture"

# Tests of scikit-learn's private functions, not of the estimator: deselected.
EXCLUDED: dict[str, str] = {
    "test_suffstat_sk_full": (
        "checks sklearn's private _estimate_gaussian_covariances_full and "
        "_compute_precision_cholesky; never builds a GaussianMixture"
    ),
    "test_suffstat_sk_tied": (
        "checks sklearn's private _estimate_gaussian_covariances_tied/_full and "
        "_compute_precision_cholesky; never builds a GaussianMixture"
    ),
    "test_suffstat_sk_diag": (
        "checks sklearn's private _estimate_gaussian_covariances_diag/_full and "
        "_compute_precision_cholesky; never builds a GaussianMixture"
    ),
    "test_gaussian_suffstat_sk_spherical": (
        "checks sklearn's private _estimate_gaussian_covariances_spherical and "
        "_compute_precision_cholesky; never builds a GaussianMixture"
    ),
    "test_compute_log_det_cholesky": (
        "checks sklearn's private _compute_log_det_cholesky; never builds a GaussianMixture"
    ),
    "test_gaussian_mixture_log_probabilities": (
        "checks sklearn's private _estimate_log_gaussian_prob; never builds a GaussianMixture"
    ),
    "test_gaussian_mixture_precisions_init": (
        "builds its expectation with sklearn's private _estimate_gaussian_parameters and "
        "_compute_precision_cholesky, then calls the estimator's private _set_parameters "
        "and _initialize (scikit-learn internals)"
    ),
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        "monkeypatches sklearn's private _estimate_gaussian_parameters and counts its "
        "calls; gmm_core never calls it"
    ),
}

# Parametrisations over array libraries that skip themselves when the library (or
# scikit-learn's array-API support) is not available in this environment.
SKIPPED_WHEN_MISSING = (
    "test_gaussian_mixture_array_api_compliance",
    "test_gaussian_mixture_raises_where_array_api_not_implemented",
)

# The import lines that change, and what they become.
REWRITES = {
    "from sklearn.mixture import GaussianMixture": "from gmm_core import GaussianMixture",
    "from sklearn.exceptions import ConvergenceWarning, NotFittedError": (
        "from gmm_core import ConvergenceWarning, NotFittedError"
    ),
}


def suite_path() -> Path:
    """Where the installed scikit-learn keeps the test file."""
    spec = importlib.util.find_spec(SUITE_MODULE)
    assert spec is not None, f"{SUITE_MODULE} is not installed"
    assert spec.origin is not None
    return Path(spec.origin)


def suite_source() -> str:
    """The installed scikit-learn's test file, with only its import lines rewritten."""
    source = suite_path().read_text(encoding="utf-8")
    lines = source.splitlines()
    import_lines = {
        node.lineno - 1
        for node in ast.parse(source).body
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno == node.end_lineno
    }
    done = set()
    for i in sorted(import_lines):
        if lines[i] in REWRITES:
            done.add(lines[i])
            lines[i] = REWRITES[lines[i]]
    missing = set(REWRITES) - done
    assert not missing, f"scikit-learn's test file no longer has these imports: {missing}"
    return "\n".join(lines) + "\n"


CONFTEST = '''
import pytest

EXCLUDED = {excluded!r}


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        (drop if getattr(item, "originalname", item.name) in EXCLUDED else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
'''


def run_suite(tmp_path: Path) -> tuple[dict[str, str], str]:
    """Run the rewritten suite; returns ({test id: outcome}, pytest's summary output)."""
    test_file = tmp_path / "test_gaussian_mixture_on_gmm_core.py"
    test_file.write_text(suite_source(), encoding="utf-8")
    (tmp_path / "conftest.py").write_text(
        CONFTEST.format(excluded=sorted(EXCLUDED)), encoding="utf-8"
    )
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")
    report = tmp_path / "report.xml"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SKLEARN_WARNINGS_AS_ERRORS": "1",
        "SKLEARN_RUN_FLOAT32_TESTS": "1",
    }
    # scikit-learn's default seed (42), or the seeds asked for in GMM_SKLEARN_SUITE_SEEDS
    # (e.g. "all": seeds 0-99, 1248 passing cases, ~90 s).
    env.pop("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", None)
    if os.environ.get("GMM_SKLEARN_SUITE_SEEDS"):
        env["SKLEARN_TESTS_GLOBAL_RANDOM_SEED"] = os.environ["GMM_SKLEARN_SUITE_SEEDS"]
    out = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(test_file),
            "-c", str(ini), "--rootdir", str(tmp_path),
            "-p", "no:cacheprovider", "-p", "sklearn.conftest",
            "-W", "ignore::pytest.PytestRemovedIn10Warning",
            "-q", "-rfEs", f"--junitxml={report}",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[name] = kinds[0] if kinds else "passed"
    return outcomes, out.stdout[-6000:] + out.stderr[-3000:]


def suite_test_functions() -> set[str]:
    """Names of the test functions defined in scikit-learn's file."""
    tree = ast.parse(suite_source())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_only_import_lines_are_rewritten():
    original = suite_path().read_text(encoding="utf-8").splitlines()
    rewritten = suite_source().splitlines()
    changed = [(a, b) for a, b in zip(original, rewritten, strict=True) if a != b]
    assert sorted(changed) == sorted(REWRITES.items())
    assert set(EXCLUDED) <= suite_test_functions()


@pytest.mark.slow
def test_sklearn_gaussian_mixture_suite_passes(tmp_path):
    outcomes, output = run_suite(tmp_path)
    print(output.strip().splitlines()[-1])  # pytest's count line, e.g. "60 passed, ..."

    def function(test_id: str) -> str:
        return test_id.partition("[")[0]

    failed = sorted(t for t, o in outcomes.items() if o in ("failure", "error"))
    assert not failed, output
    skipped = {function(t) for t, o in outcomes.items() if o == "skipped"}
    assert skipped <= set(SKIPPED_WHEN_MISSING), output
    assert not {function(t) for t in outcomes} & set(EXCLUDED)
    # Every other test function of the file ran, and all its cases passed.
    passed = {function(t) for t, o in outcomes.items() if o == "passed"}
    expected = suite_test_functions() - set(EXCLUDED) - set(SKIPPED_WHEN_MISSING)
    assert expected <= passed, sorted(expected - passed)
