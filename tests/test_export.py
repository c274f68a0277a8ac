"""The download files (gmm_app.export) and the animation's frames (gmm_app.animation).

Oracles are independent of the code under test: scipy for densities and log-likelihoods,
Python's csv and json modules for the files, Pillow for the GIF, hand-computed pixel
positions for the frames, and Streamlit's own media-id function for the collision.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

from gmm_app import animation, export
from gmm_app.data import LoadedData
from gmm_app.geometry import component_colours
from gmm_core import datasets, initialize, run_em


def _settings(dataset: str = "your-data", n_components: int = 2, covariance_type: str = "full",
              **extra: object) -> SimpleNamespace:
    """The attributes the export reads from a page's settings (works with any Settings)."""
    values = dict(dataset=dataset, n_components=n_components, covariance_type=covariance_type,
                  init_method="kmeans++", seed=0, reg_covar=1e-6, tol=1e-3, max_iter=5,
                  manual_means=(), knobs={})
    values.update(extra)
    return SimpleNamespace(**values)


def _data(X: np.ndarray, dataset: str = "your-data", names: tuple[str, ...] = ("=a", "b"),
          title: str = "Your data: =cmd|x.csv") -> LoadedData:
    return LoadedData(X=X, dataset=dataset, title=title, feature_names=names, description="",
                      trusted=dataset != "your-data", true_params=None, key="test:" + dataset)


def _two_clusters(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal([0, 0], 1, (40, 2)), rng.normal([5, 4], 0.8, (30, 2))])


def _scipy_log_joint(X: np.ndarray, params) -> np.ndarray:
    cols = [
        np.log(w) + multivariate_normal(mean=m, cov=c).logpdf(X)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ]
    return np.column_stack(cols)


# --------------------------------------------------------------------------- JSON
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_params_json_holds_the_shown_step_for_every_covariance_type(covariance_type: str) -> None:
    X = _two_clusters()
    params0 = initialize(X, 2, "kmeans++", np.random.default_rng(0),
                         covariance_type=covariance_type)
    history = run_em(X, params0, covariance_type=covariance_type, max_iter=5)
    cursor = 3  # init, E, M, E: the E-step of iteration 2 (parameters of the first M-step)
    document = json.loads(
        export.params_document(_data(X), _settings(covariance_type=covariance_type), history,
                               cursor)
    )
    params = history.steps[cursor].params
    weights = np.array(document["weights"])
    means = np.array(document["means"])
    covariances = np.array(document["covariances"])
    assert weights.shape == (2,)
    assert means.shape == (2, 2)
    assert covariances.shape == (2, 2, 2)
    np.testing.assert_allclose(weights, params.weights, rtol=1e-15)
    np.testing.assert_allclose(means, params.means, rtol=1e-15)
    np.testing.assert_allclose(covariances, params.covariances, rtol=1e-15)
    assert weights.sum() == pytest.approx(1.0)
    # The shape of each covariance type, read from the file itself.
    off_diagonal = covariances[:, 0, 1]
    if covariance_type == "tied":
        np.testing.assert_allclose(covariances[0], covariances[1])
    if covariance_type in ("diag", "spherical"):
        assert np.all(off_diagonal == 0.0)
    if covariance_type == "spherical":
        np.testing.assert_allclose(covariances[:, 0, 0], covariances[:, 1, 1])
    np.testing.assert_allclose(covariances, np.swapaxes(covariances, 1, 2))
    expected_ll = logsumexp(_scipy_log_joint(X, params), axis=1).sum()
    assert document["log_likelihood"] == pytest.approx(expected_ll, rel=1e-9)
    assert document["iteration"] == 2
    run = document["settings"]
    assert run["covariance_type"] == covariance_type
    assert run["half_step"] == cursor
    assert run["phase"] == "E"
    assert run["features"] == ["=a", "b"]  # JSON strings are data, not formulas
    assert run["n_points"] == 70


def test_params_json_of_a_built_in_data_set_names_it_and_its_settings() -> None:
    data = datasets.load("blobs", n_samples=120, seed=3)
    X = data.X
    history = run_em(X, initialize(X, 3, "kmeans++", np.random.default_rng(0)), max_iter=3)
    settings = _settings("blobs", 3, knobs={"n_samples": 120, "seed": 3})
    loaded = _data(X, "blobs", tuple(data.feature_names), "Blobs")
    document = json.loads(export.params_document(loaded, settings, history, 0))
    assert document["settings"]["dataset"] == "blobs"
    assert document["settings"]["dataset_settings"] == {"n_samples": 120, "seed": 3}
    assert document["settings"]["phase"] == "init"
    assert np.array(document["means"]).shape == (3, 2)



def test_params_json_of_a_run_still_being_computed_says_it_has_not_finished() -> None:
    # A lazily computed run (issue 10) is a history stopped by run_em's stop hook.
    data = datasets.load("blobs", n_samples=120, seed=3)
    X = data.X
    history = run_em(X, initialize(X, 3, "kmeans++", np.random.default_rng(0)), max_iter=50,
                     should_stop=lambda: True)
    assert history.stop_reason == "stopped"
    settings = _settings("blobs", 3, knobs={"n_samples": 120, "seed": 3})
    loaded = _data(X, "blobs", tuple(data.feature_names), "Blobs")
    document = json.loads(export.params_document(loaded, settings, history, 0))
    assert document["settings"]["run_stop_reason"] == "not finished (computed so far)"


# --------------------------------------------------------------------------- CSV
def test_points_csv_has_responsibilities_hard_labels_and_escaped_text() -> None:
    X = _two_clusters()
    history = run_em(X, initialize(X, 2, "kmeans++", np.random.default_rng(0)), max_iter=5)
    params = history.steps[-1].params
    labels = np.array([0] * 40 + [1] * 20 + [2] * 10)
    names = ("=SUM(A1)", "@b", "-1.5")
    text = export.points_document(X, ("=a", "+b"), params, labels, names)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["'=a", "'+b", "resp_1", "resp_2", "hard_label", "label"]
    body = rows[1:]
    assert len(body) == 70
    values = np.array([r[:5] for r in body], dtype=float)
    log_joint = _scipy_log_joint(X, params)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(values[:, :2], X)
    np.testing.assert_allclose(values[:, 2:4], resp, atol=1e-12)
    assert np.array_equal(values[:, 4], resp.argmax(axis=1) + 1)
    # Formulas are defused; a plain number stays a number.
    assert [r[5] for r in body] == ["'=SUM(A1)"] * 40 + ["'@b"] * 20 + ["-1.5"] * 10


def test_points_csv_of_a_built_in_data_set_carries_its_classes() -> None:
    data = datasets.load("iris")
    X = data.X
    history = run_em(X, initialize(X, 3, "kmeans++", np.random.default_rng(0)), max_iter=3)
    settings = _settings("iris", 3)
    loaded = _data(X, "iris", tuple(data.feature_names), "Iris")
    labels = export.point_labels(loaded, settings)
    assert labels is not None
    text = export._builtin_points_file(loaded, settings, history.steps[-1].params)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-1] == "label"
    assert [r[-1] for r in rows[1:]] == [data.label_names[c] for c in data.labels]
    # Other points than the data set's (e.g. different knobs): no labels, not wrong ones.
    moved = _data(X + 1.0, "iris", tuple(data.feature_names), "Iris")
    assert export.point_labels(moved, settings) is None


@pytest.mark.parametrize(
    ("name", "stem"),
    [("old faithful.csv", "old_faithful"), ("../../etc/passwd", "etc_passwd"),
     ("\u201c\u201d.csv", "data"), ("blobs", "blobs")],
)
def test_download_stem_is_a_safe_file_name(name: str, stem: str) -> None:
    assert export.download_stem(name) == stem


# --------------------------------------------------------------------------- media identity
def test_private_mime_gives_colliding_large_files_their_own_media_ids() -> None:
    """Streamlit names a file above 1 MiB by length + head + middle + tail: two different
    files that agree there collide, unless the MIME type (which enters the id) differs."""
    row = b"0.123456789,9.87654321,0.5,0.5,1,a\n"
    n = 40_000  # 1.4 MB
    a = bytearray(row * n)
    b = bytearray(a)
    middle = len(a) // 2
    for i in (200_000, 400_000, middle + 200_000, len(a) - 200_000):  # away from the samples
        assert b[i - 2 : i] != b"zz"
        b[i - 2 : i] = b"zz"
    assert len(a) == len(b) > 1_048_576
    assert a != b
    # The collision, with Streamlit's own function:
    assert _calculate_file_id(bytes(a), "text/csv", "f.csv") == _calculate_file_id(
        bytes(b), "text/csv", "f.csv"
    )
    mime_a, mime_b = export.private_mime("text/csv"), export.private_mime("text/csv")
    assert mime_a != mime_b
    assert mime_a.startswith("text/csv; ")
    assert _calculate_file_id(bytes(a), mime_a, "f.csv") != _calculate_file_id(
        bytes(b), mime_b, "f.csv"
    )


# --------------------------------------------------------------------------- animation
def _run_2d(n_iter: int = 6):
    data = datasets.load("blobs", n_samples=300, seed=2)
    X = data.X
    history = run_em(X, initialize(X, 3, "kmeans++", np.random.default_rng(0)),
                     max_iter=n_iter, tol=1e-12)
    return _data(X, "blobs", tuple(data.feature_names), "Blobs"), history


def test_animation_has_one_frame_per_half_step() -> None:
    loaded, history = _run_2d()
    cursor = 7
    gif = export.animation_gif(2, loaded, history, cursor)
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF"
    assert image.n_frames == cursor + 1
    width, height = export.ANIMATION_SIZE[2]
    assert image.size == (width, height + animation.CAPTION_HEIGHT)
    durations = []
    for i in range(image.n_frames):
        image.seek(i)
        durations.append(image.info["duration"])
    assert durations == [animation.FRAME_MS] * cursor + [animation.LAST_FRAME_MS]


def test_animation_of_a_1d_run() -> None:
    data = datasets.load("three_gaussians_1d", n_samples=200, seed=1)
    X = data.X
    history = run_em(X, initialize(X, 3, "kmeans++", np.random.default_rng(0)), max_iter=3)
    loaded = _data(X, "three_gaussians_1d", tuple(data.feature_names), "Three")
    gif = export.animation_gif(1, loaded, history, len(history.steps) - 1)
    assert Image.open(io.BytesIO(gif)).n_frames == len(history.steps)


def test_frames_draw_the_means_where_the_axes_put_them() -> None:
    loaded, history = _run_2d()
    fig = export._frame_figure(2, loaded, history, 4, None)
    frame = animation.render_figure(fig, "caption").convert("RGB")
    layout = fig.layout
    width, height = layout.width, layout.height
    x0, x1 = layout.xaxis.range
    y0, y1 = layout.yaxis.range
    m = layout.margin
    left, right = m.l, width - m.r
    top, bottom = animation.CAPTION_HEIGHT + m.t, animation.CAPTION_HEIGHT + height - m.b
    params = history.steps[4].params
    for k, (colour, mean) in enumerate(zip(component_colours(3), params.means, strict=True)):
        col = left + (mean[0] - x0) / (x1 - x0) * (right - left)
        row = bottom - (mean[1] - y0) / (y1 - y0) * (bottom - top)
        pixel = frame.getpixel((int(round(col)), int(round(row))))
        expected = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert max(abs(p - e) for p, e in zip(pixel, expected, strict=True)) <= 8, (k, pixel)


def test_animation_limits_say_what_to_do() -> None:
    assert export.animation_problem(600, 10) is None
    too_long = export.animation_problem(600, export.ANIMATION_MAX_FRAMES)
    assert too_long is not None
    assert f"at most {export.ANIMATION_MAX_FRAMES} half-steps" in too_long
    assert "Drag the history slider back" in too_long
    n = export.ANIMATION_MAX_POINT_FRAMES // 10
    too_big = export.animation_problem(n, 10)
    assert too_big is not None
    assert "use fewer points" in too_big
    assert "half-step 9 or less" in too_big
    assert export.animation_problem(n, 9) is None  # the half-step it suggests fits
    loaded, history = _run_2d(200)
    with pytest.raises(ValueError, match="at most"):
        export.animation_gif(2, loaded, history, export.ANIMATION_MAX_FRAMES)


def test_gif_refuses_no_frames() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        animation.gif_bytes([])


def test_every_download_button_of_the_app_is_deferred_and_private() -> None:
    """Each st.download_button gets its bytes from a callable (made on click) and a MIME type
    from private_mime (its media id unique to the session), in every module of the app."""
    repo = Path(__file__).resolve().parents[1]
    sources = [*(repo / "gmm_app").rglob("*.py"), *(repo / "pages").glob("*.py"), repo / "app.py"]
    calls = 0
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"\bst\.download_button\(", text):
            depth, end = 0, call.end() - 1
            for end in range(call.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            args = text[call.start() : end]
            calls += 1
            assert re.search(r"\bmime=private_mime\(", args), f"{path}: {args[:80]}"
            assert re.search(r"\bdata=(make|lambda|partial\()", args), f"{path}: {args[:80]}"
    assert calls >= 1


def test_points_csv_uses_the_labels_the_loaded_data_carry() -> None:
    X = _two_clusters()
    history = run_em(X, initialize(X, 2, "kmeans++", np.random.default_rng(0)), max_iter=2)
    codes = np.array([1, 0] * 35)
    data = LoadedData(X=X, dataset="your-data", title="Your data: t.csv", feature_names=("u", "v"),
                      description="", trusted=False, true_params=None, key="upload:t",
                      labels=codes, label_names=("+one", "two"))
    labels = export.point_labels(data, _settings())
    assert labels is not None
    text = export._points_file(data, _settings(), history.steps[-1].params, labels)
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[-1] for r in rows[1:]] == ["two", "'+one"] * 35
