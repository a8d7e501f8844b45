"""scikit-learn autolog and explicit logging, on real estimators."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import mlineage
from mlineage.model import Digest
from mlineage.sdk.autolog import autolog
from mlineage.sdk.autolog._common import data_digest
from mlineage.sdk.client import Client

from .conftest import require, subprocess_env

pytestmark = pytest.mark.full_capture
np = require("numpy", "sklearn")
require("sklearn", "sklearn")


def _data(seed: int = 0) -> tuple[object, object]:
    rng = np.random.RandomState(seed)
    x = rng.rand(120, 4)
    return x, (x[:, 0] + x[:, 1] > 1).astype(int)


def _io(client: Client, run_id: str) -> tuple[dict[str, list], list]:
    inputs, outputs = client.store.io_of_run(run_id)
    by_role: dict[str, list] = {}
    for artifact, role in inputs:
        by_role.setdefault(role, []).append(artifact)
    return by_role, [a for a, _ in outputs]


def test_fit_outside_a_run_is_recorded_as_a_run(tracked: Client) -> None:
    from sklearn.ensemble import RandomForestClassifier

    assert autolog(log_training_score=True)["sklearn"] == "enabled"
    x, y = _data()
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(x, y)
    [run] = tracked.store.list_runs(limit=5)
    assert run.job == "sklearn.RandomForestClassifier.fit" and run.status.value == "completed"
    assert run.params["n_estimators"] == 5 and run.params["max_depth"] == 3
    assert 0.5 < run.metrics["training_score"] <= 1.0
    inputs, outputs = _io(tracked, run.id)
    [dataset] = inputs["training_data"]
    assert str(dataset.digest) == data_digest(x, y)[0] and dataset.metadata["rows"] == 120
    assert set(inputs) == {"training_data", "code", "environment"}
    [saved] = outputs
    assert saved.kind.value == "model" and saved.metadata["framework"] == "scikit-learn"
    with tracked.blobs.open(Digest.parse(str(saved.digest))) as handle:
        restored = pickle.loads(handle.read())
    assert (restored.predict(x) == model.predict(x)).all()


def test_data_digest_follows_the_data() -> None:
    x, y = _data()
    assert data_digest(x, y) == data_digest(x.copy(), y.copy())
    changed = x.copy()
    changed[3, 2] += 1e-9
    assert data_digest(changed, y)[0] != data_digest(x, y)[0]
    assert data_digest(x, y)[0] != data_digest(x, None)[0]
    assert data_digest(x.astype("float32"), y)[0] != data_digest(x, y)[0]
    assert data_digest(np.asfortranarray(x), y)[0] == data_digest(x, y)[0]


def test_dataframes_and_sparse_matrices() -> None:
    sparse = require("scipy.sparse", "sklearn")
    x, y = _data()
    matrix = sparse.csr_matrix(x)
    digest, meta = data_digest(matrix, y)
    assert meta["rows"] == 120 and digest == data_digest(sparse.csc_matrix(x), y)[0]
    try:
        import pandas as pd
    except ImportError:
        return
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    digest, meta = data_digest(frame, pd.Series(y, name="label"))
    assert meta["columns"] == ["a", "b", "c", "d"]
    assert digest != data_digest(frame.rename(columns={"a": "z"}), pd.Series(y, name="label"))[0]


def test_a_pipeline_is_one_record(tracked: Client) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    autolog()
    x, y = _data()
    make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    runs = tracked.store.list_runs(limit=10)
    assert [r.job for r in runs] == ["sklearn.Pipeline.fit"]
    assert runs[0].params["logisticregression__C"] == 1.0


def test_fits_inside_an_open_run_record_into_it(tracked: Client) -> None:
    from sklearn.linear_model import LogisticRegression, Ridge

    autolog()
    x, y = _data()
    with mlineage.run("experiment", kind="train", params={"seed": 0}) as run:
        LogisticRegression(C=0.5).fit(x, y)
        Ridge(alpha=2.0).fit(x, y)
    [stored] = tracked.store.list_runs(limit=10)
    assert stored.id == run.id and stored.params["C"] == 0.5 and stored.params["alpha"] == 2.0
    _, outputs = _io(tracked, run.id)
    assert len(outputs) == 2


def test_partial_fit_accumulates_until_the_run_ends(tracked: Client) -> None:
    from sklearn.linear_model import SGDClassifier

    autolog()
    x, y = _data()
    with mlineage.run("stream") as run:
        model = SGDClassifier(random_state=0)
        for start in range(0, 120, 40):
            model.partial_fit(x[start:start + 40], y[start:start + 40], classes=[0, 1])
    stored = tracked.store.get_run(run.id)
    assert stored is not None and stored.metrics["partial_fit_batches"] == 3
    inputs, outputs = _io(tracked, run.id)
    [dataset] = inputs["training_data"]
    assert dataset.metadata == {"source": "in-memory", "batches": 3, "rows": 120}
    assert len(outputs) == 1


def test_disable_and_explicit_logging(tracked: Client) -> None:
    from sklearn.tree import DecisionTreeClassifier

    from mlineage.sdk.autolog.sklearn import log_estimator

    autolog()
    autolog(disable=True)
    x, y = _data()
    model = DecisionTreeClassifier(max_depth=2).fit(x, y)
    assert tracked.store.list_runs(limit=5) == []
    with mlineage.run("explicit") as run:
        saved = log_estimator(run, model, x, y)
    stored = tracked.store.get_run(run.id)
    assert stored is not None and stored.params["max_depth"] == 2 and saved is not None


def test_disable_leaves_inert_wrappers_and_unpatch_restores(tracked: Client) -> None:
    """``autolog(disable=True)`` keeps the wrappers (re-patching every class on each toggle empties CPython's
    attribute caches), a class defined while it is off is recorded once it is on again, and ``unpatch()``
    puts the original methods back."""
    from sklearn.base import BaseEstimator
    from sklearn.linear_model import LinearRegression

    from mlineage.sdk.autolog import sklearn as integration

    integration.unpatch()  # earlier tests of this process left their (inert) wrappers
    original = LinearRegression.__dict__["fit"]
    assert not getattr(original, "__mlineage_wrapped__", False)
    autolog()
    autolog(disable=True)
    assert getattr(LinearRegression.fit, "__mlineage_wrapped__", False)

    class Constant(BaseEstimator):
        def __init__(self, value: float = 1.0) -> None:
            self.value = value

        def fit(self, x: object, y: object = None) -> Constant:
            self.fitted_ = True
            return self

    x, y = _data()
    Constant().fit(x, y)
    assert tracked.store.list_runs(limit=5) == []
    autolog()
    Constant(value=2.0).fit(x, y)  # a local class cannot be pickled: the fit still succeeds, without a model
    [run] = tracked.store.list_runs(limit=5)
    assert (
        run.job == "sklearn.Constant.fit" and run.params["value"] == 2.0 and run.status.value == "completed"
    )
    inputs, outputs = _io(tracked, run.id)
    assert "training_data" in inputs and outputs == []
    integration.unpatch()
    assert LinearRegression.__dict__["fit"] is original
    assert not getattr(Constant.fit, "__mlineage_wrapped__", False)
    autolog()  # and on again after an unpatch: everything is wrapped anew
    assert getattr(LinearRegression.fit, "__mlineage_wrapped__", False)
    integration.unpatch()


def test_autolog_imports_nothing_heavy_and_hooks_later_imports(tmp_path: Path) -> None:
    code = (
        "import sys, mlineage\n"
        "status = mlineage.autolog()\n"
        "assert 'sklearn' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)\n"
        "assert status['sklearn'] == 'on import', status\n"
        "from sklearn.linear_model import LinearRegression\n"
        "assert getattr(LinearRegression.fit, '__mlineage_wrapped__', False)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        env=subprocess_env(),
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_requiring_a_missing_integration_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlineage import sdk
    from mlineage.errors import ConfigError

    monkeypatch.setattr(sdk.autolog, "_installed", lambda module: False)
    with pytest.raises(ConfigError, match=r"pip install 'mlineage\[sklearn\]'"):
        autolog(sklearn=True)
    assert autolog()["sklearn"] == "not installed"
