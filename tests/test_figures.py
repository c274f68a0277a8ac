"""Pure figure, table, geometry, formatting and cursor builders of gmm_app (no Streamlit run).

References are independent of the code under test: eigenvalues and inverses from
numpy, densities from scipy.stats, colours mixed by hand.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from scipy.stats import chi2, multivariate_normal, norm

from gmm_app import cursor, figures, geometry
from gmm_app.formatting import (
    MINUS,
    MISSING,
    fmt_fixed,
    fmt_from_log,
    fmt_number,
    fmt_signed,
    status_line,
    stop_message,
)
from gmm_core import Collapse, EMHistory, GMMParams, HalfStep


# --------------------------------------------------------------------------- helpers
def decode(value: object) -> np.ndarray:
    """A Plotly JSON array: a list, or ``{"dtype", "bdata"}`` (base64) as Plotly 7 writes it."""
    if isinstance(value, dict) and "bdata" in value:
        raw = base64.b64decode(value["bdata"])
        arr = np.frombuffer(raw, dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = [int(s) for s in str(value["shape"]).split(",")]
            arr = arr.reshape(shape)
        return arr
    return np.array([np.nan if v is None else v for v in value], dtype=float)


def figure_json(fig: object) -> dict:
    return json.loads(fig.to_json())


def all_numbers(obj: object) -> list[float]:
    """Every number in a figure's JSON, decoding binary arrays."""
    out: list[float] = []
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = decode(obj)
            if arr.dtype.kind == "f":
                out.extend(arr.ravel().tolist())
            return out
        for v in obj.values():
            out.extend(all_numbers(v))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(all_numbers(v))
    elif isinstance(obj, float):
        out.append(obj)
    return out


def params_2d() -> GMMParams:
    return GMMParams(
        weights=[0.5, 0.3, 0.2],
        means=[[0.0, 0.0], [4.0, 1.0], [-3.0, 2.5]],
        covariances=[
            [[4.0, 1.2], [1.2, 1.0]],
            [[1.0, 0.0], [0.0, 0.25]],
            [[0.5, -0.3], [-0.3, 2.0]],
        ],
    )


def params_1d() -> GMMParams:
    return GMMParams(weights=[0.6, 0.4], means=[[-1.0], [2.0]], covariances=[[[1.0]], [[0.25]]])


@pytest.fixture
def data_2d() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(200, 2)) * 2.0


# --------------------------------------------------------------------------- geometry
def test_ellipse_points_lie_on_the_mahalanobis_level_set() -> None:
    mean = np.array([1.0, -2.0])
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    for radius in (1.0, 2.0):
        pts = geometry.ellipse_points(mean, cov, radius, n_points=101)
        diff = pts - mean
        maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        np.testing.assert_allclose(maha, radius**2, rtol=1e-10)
        # Longest and shortest half-axes are radius * sqrt(eigenvalue).
        lam = np.linalg.eigvals(cov).real
        dist = np.linalg.norm(diff, axis=1)
        assert dist.max() == pytest.approx(radius * math.sqrt(lam.max()), rel=1e-3)
        assert dist.min() == pytest.approx(radius * math.sqrt(lam.min()), rel=1e-3)
        np.testing.assert_allclose(pts[0], pts[-1])  # closed curve


def test_chi2_mass_matches_scipy() -> None:
    assert geometry.chi2_mass(1.0, 2) == pytest.approx(1 - math.exp(-0.5))
    assert geometry.chi2_mass(2.0, 2) == pytest.approx(chi2(df=2).cdf(4.0))


def test_blend_colours_mixes_palette_by_weight() -> None:
    resp = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.25, 0.75]])
    colours = geometry.blend_colours(resp)
    blue, orange = (0, 114, 178), (230, 159, 0)  # Okabe-Ito blue and orange, by hand
    assert colours[0].lower() == "#0072b2"
    assert colours[1].lower() == "#e69f00"
    for row, colour in zip(resp[2:], colours[2:], strict=True):
        expected = [row[0] * b + row[1] * o for b, o in zip(blue, orange, strict=True)]
        got = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert all(abs(g - e) <= 0.5 for g, e in zip(got, expected, strict=True))


def test_blend_colours_grey_before_any_e_step() -> None:
    assert geometry.blend_colours(None, 3) == [geometry.UNASSIGNED] * 3


def test_palette_is_distinct_for_ten_components() -> None:
    assert len(set(geometry.component_colours(10))) == 10


def test_histogram_density_integrates_to_one() -> None:
    x = np.random.default_rng(1).normal(size=500)
    edges, dens = geometry.histogram_density(x)
    assert np.sum(dens * np.diff(edges)) == pytest.approx(1.0)
    assert edges[0] <= x.min()
    assert edges[-1] >= x.max()


# --------------------------------------------------------------------------- 2-D figure
def test_figure_2d_structure_and_ellipses(data_2d: np.ndarray) -> None:
    params = params_2d()
    colours = geometry.blend_colours(np.full((200, 3), 1 / 3))
    fig = figures.figure_2d(data_2d, params, colours)
    spec = figure_json(fig)
    data = spec["data"]
    k = params.n_components
    assert len(data) == 3 + 2 * k + 3
    assert data[figures.TRACE_POINTS]["type"] == "scatter"  # 200 points: SVG
    assert data[figures.TRACE_POINTS]["marker"]["color"] == colours
    # Ellipse traces: 1σ for each component, then 2σ.
    indices = figures.ellipse_trace_indices(k)
    for pos, index in enumerate(indices):
        radius, comp = (1.0, pos) if pos < k else (2.0, pos - k)
        x, y = decode(data[index]["x"]), decode(data[index]["y"])
        diff = np.column_stack([x, y]) - params.means[comp]
        eigenvalues = np.linalg.eigvalsh(params.covariances[comp])
        dist = np.linalg.norm(diff, axis=1)
        assert dist.max() == pytest.approx(radius * np.sqrt(eigenvalues[-1]), rel=1e-3)
        assert dist.min() == pytest.approx(radius * np.sqrt(eigenvalues[0]), rel=1e-3)
        assert data[index]["line"]["color"] == geometry.PALETTE[comp]
    means = data[figures.means_trace_index(k)]
    np.testing.assert_allclose(decode(means["x"]), params.means[:, 0])
    np.testing.assert_allclose(decode(means["y"]), params.means[:, 1])


def test_many_points_are_drawn_with_webgl() -> None:
    X = np.random.default_rng(3).normal(size=(figures.WEBGL_MIN_POINTS, 2))
    fig = figures.figure_2d(X, params_2d(), geometry.blend_colours(None, X.shape[0]), width=500)
    spec = figure_json(fig)
    assert spec["data"][figures.TRACE_POINTS]["type"] == "scattergl"
    assert spec["layout"]["width"] == 500


def test_figure_2d_optional_layers_keep_the_trace_count(data_2d: np.ndarray) -> None:
    params = params_2d()
    colours = geometry.blend_colours(None, 200)
    plain = figure_json(figures.figure_2d(data_2d, params, colours))
    gx = np.linspace(-1, 1, 5)
    z = np.ones((5, 5))
    full = figure_json(
        figures.figure_2d(
            data_2d, params, colours, density=(gx, gx, z), true_params=params,
            inspected=7, collapsed=1,
        )
    )
    assert len(plain["data"]) == len(full["data"])
    assert plain["data"][figures.TRACE_DENSITY]["visible"] is False
    assert full["data"][figures.TRACE_DENSITY]["visible"] is True
    assert plain["data"][figures.TRACE_TRUTH]["visible"] is False
    assert full["data"][figures.TRACE_TRUTH]["visible"] is True
    inspected, collapse = full["data"][-2], full["data"][-1]
    np.testing.assert_allclose(decode(inspected["x"]), [data_2d[7, 0]])
    np.testing.assert_allclose(decode(collapse["x"]), [params.means[1, 0]])
    assert "component 2 collapsed" in collapse["text"][0]
    assert decode(plain["data"][-1]["x"]).size == 0


def test_figure_json_holds_no_nan(data_2d: np.ndarray) -> None:
    params = params_2d()
    fig = figures.figure_2d(
        data_2d, params, geometry.blend_colours(None, 200), true_params=params
    )
    text = fig.to_json()
    assert "NaN" not in text  # JSON's spelling of a NaN outside binary arrays
    numbers = all_numbers(json.loads(text))
    assert numbers
    assert all(math.isfinite(v) for v in numbers)


def test_user_feature_names_are_escaped(data_2d: np.ndarray) -> None:
    fig = figures.figure_2d(
        data_2d, params_2d(), geometry.blend_colours(None, 200),
        feature_names=("<img src=x onerror=alert(1)>", "b"),
    )
    title = figure_json(fig)["layout"]["xaxis"]["title"]["text"]
    assert "<img" not in title
    assert "&lt;img" in title


# --------------------------------------------------------------------------- 1-D figure
def test_figure_1d_structure() -> None:
    params = params_1d()
    x = np.random.default_rng(2).normal(size=(120, 1))
    grid = np.linspace(-4, 4, 50)
    sds = np.sqrt(params.covariances[:, 0, 0])
    comp = np.column_stack(
        [params.weights[k] * norm.pdf(grid, params.means[k, 0], sds[k]) for k in range(2)]
    )
    resp = comp / comp.sum(axis=1, keepdims=True)
    fig = figures.figure_1d(
        x, params, geometry.blend_colours(None, 120),
        histogram=geometry.histogram_density(x), grid=grid, component_density=comp,
        mixture_density=comp.sum(axis=1), grid_resp=resp, inspected=3,
    )
    data = figure_json(fig)["data"]
    k = 2
    assert len(data) == 2 * k + 5
    assert data[0]["type"] == "bar"
    for j in range(k):
        np.testing.assert_allclose(decode(data[1 + j]["y"]), comp[:, j])
    rug = data[figures.rug_trace_index(k)]
    np.testing.assert_allclose(decode(rug["x"]), x[:, 0])
    areas = data[-k:]
    assert all(a["stackgroup"] == "responsibilities" and a["yaxis"] == "y2" for a in areas)
    stacked = sum(decode(a["y"]) for a in areas)
    np.testing.assert_allclose(stacked, 1.0)


def test_figure_1d_without_responsibilities_says_so() -> None:
    params = params_1d()
    x = np.linspace(-2, 2, 30).reshape(-1, 1)
    grid = np.linspace(-3, 3, 20)
    fig = figures.figure_1d(
        x, params, geometry.blend_colours(None, 30), histogram=geometry.histogram_density(x),
        grid=grid, component_density=np.zeros((20, 2)), mixture_density=np.zeros(20),
        grid_resp=None,
    )
    spec = figure_json(fig)
    assert "first E-step" in spec["layout"]["annotations"][0]["text"]
    assert all(np.all(decode(a["y"]) == 0) for a in spec["data"][-2:])


# --------------------------------------------------------------------------- log-likelihood
def test_loglik_figure_shows_the_path_to_the_cursor() -> None:
    ll = np.array([-50.0, -50.0, -40.0, -40.0, -38.0])
    fig = figure_json(figures.loglik_figure(ll, ["init", "E", "M", "E", "M"], 2))
    path, now = fig["data"]
    np.testing.assert_allclose(decode(path["y"]), ll[:3])
    np.testing.assert_allclose(decode(now["x"]), [2])
    np.testing.assert_allclose(decode(now["y"]), [-40.0])


def test_loglik_figure_hides_undefined_values() -> None:
    fig = figures.loglik_figure(np.array([np.nan]), ["init"], 0)
    text = fig.to_json()
    assert "NaN" not in text
    assert json.loads(text)["data"][1]["x"] == []


# --------------------------------------------------------------------------- tables
def parse(text: str) -> float:
    return float(text.replace(MINUS, "-").replace(",", ""))


def test_parameter_table_sigma_and_correlation() -> None:
    params = params_2d()
    nk = np.array([100.0, 60.0, 40.0])
    table = figures.parameter_table(params, nk)
    assert list(table["k"]) == ["1", "2", "3"]
    row = table.iloc[0]
    assert parse(row["\u03c0"]) == pytest.approx(0.5)
    sigma = [parse(v) for v in row["\u03c3 (x, y)"].strip("()").split(", ")]
    assert sigma == pytest.approx([2.0, 1.0])  # sqrt(4), sqrt(1)
    assert parse(row["\u03c1"]) == pytest.approx(1.2 / (2.0 * 1.0))
    assert parse(table.iloc[2]["\u03c1"]) == pytest.approx(-0.3 / np.sqrt(0.5 * 2.0), abs=0.005)
    assert parse(row["N\u2096"]) == pytest.approx(100.0)
    before_e = figures.parameter_table(params, None)
    assert set(before_e["N\u2096"]) == {MISSING}


def test_parameter_table_1d() -> None:
    table = figures.parameter_table(params_1d(), None)
    assert parse(table.iloc[1]["\u03c3"]) == pytest.approx(0.5)
    assert parse(table.iloc[0]["\u03bc"]) == pytest.approx(-1.0)


def test_point_breakdown_matches_scipy() -> None:
    params = params_2d()
    x = np.array([1.0, 0.5])
    pdf = np.array(
        [multivariate_normal(params.means[k], params.covariances[k]).pdf(x) for k in range(3)]
    )
    joint = params.weights * pdf
    log_weighted = np.log(joint)
    table, latex = figures.point_breakdown(log_weighted, params.weights)
    assert len(table) == 4
    for k in range(3):
        row = table.iloc[k]
        assert parse(row[figures.PDF_K]) == pytest.approx(pdf[k], rel=5e-3)
        assert parse(row[figures.JOINT_K]) == pytest.approx(joint[k], rel=5e-3)
        assert parse(row[figures.GAMMA_K]) == pytest.approx(joint[k] / joint.sum(), abs=6e-4)
        assert parse(row[figures.PI_K]) == pytest.approx(params.weights[k])
    total = table.iloc[3]
    assert total["k"] == "sum"
    assert parse(total[figures.JOINT_K]) == pytest.approx(joint.sum(), rel=5e-3)
    best = int(np.argmax(joint))
    assert f"\\gamma_{{{best + 1}}}" in latex
    assert f"{joint[best] / joint.sum():.3f}" in latex


def test_point_breakdown_far_away_point_underflows_gracefully() -> None:
    # log densities far below the smallest float: still shown, never nan.
    table, latex = figures.point_breakdown(np.array([-2000.0, -2003.0]), np.array([0.5, 0.5]))
    text = table.to_string() + latex
    assert "nan" not in text.lower()
    gamma0 = 1 / (1 + math.exp(-3.0))
    assert parse(table.iloc[0][figures.GAMMA_K]) == pytest.approx(gamma0, abs=6e-4)
    joint = table.iloc[0][figures.JOINT_K]
    assert "e" + MINUS + "869" in joint  # exp(-2000) = 1.4e-869


# --------------------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), MISSING),
        (None, MISSING),
        (float("inf"), "\u221e"),
        (-2.5, MINUS + "2.500"),
        (0.0, "0"),
        (1.23456e-7, "1.235e" + MINUS + "07"),
    ],
)
def test_fmt_number(value: float | None, expected: str) -> None:
    assert fmt_number(value) == expected


def test_fmt_helpers() -> None:
    assert fmt_fixed(-1130.256) == MINUS + "1130.26"
    assert fmt_signed(0.84) == "+0.84"
    assert fmt_signed(-0.0012) == MINUS + "0.0012"
    assert fmt_from_log(math.log(0.5)) == "0.500"
    assert fmt_from_log(-math.inf) == "0"
    # exp(-1000) = 5.08e-435
    assert fmt_from_log(-1000.0) == "5.08e" + MINUS + "435"


def history(phases: list[str], ll: list[float], reason: str = "converged",
            collapse: Collapse | None = None, **extra: object) -> EMHistory:
    params = params_1d()
    iters, it = [], 0
    for phase in phases:
        it += phase == "E"
        iters.append(it)
    steps = tuple(
        HalfStep(p, i, params, v) for p, i, v in zip(phases, iters, ll, strict=True)
    )
    n_iter = phases.count("M")
    return EMHistory(
        steps, reason == "converged", reason, collapse, n_iter, 100, 1e-3, **extra
    )


def test_status_line_words() -> None:
    h = history(["init", "E", "M", "E", "M"], [-1200.0, -1200.0, -1130.26, -1130.26, -1129.42])
    assert status_line(h, 0) == (
        "Start (iteration 0) \u00b7 initial parameters \u00b7 next: E-step \u00b7 "
        "log-likelihood " + MINUS + "1200.00"
    )
    # The E-step does not change the parameters, so neither their likelihood: no gain is
    # shown beside it (the M-step before it made the +69.74).
    assert status_line(h, 3) == (
        "Iteration 2 \u00b7 after E-step \u00b7 next: M-step \u00b7 log-likelihood "
        + MINUS + "1130.26 (unchanged by the E-step)"
    )
    assert status_line(h, 2).endswith(MINUS + "1130.26 (+69.74)")
    assert status_line(h, 4).startswith("Iteration 2 \u00b7 after M-step \u00b7 converged")
    assert status_line(h, 4).endswith("(+0.84)")


def test_status_line_undefined_likelihood_and_collapse() -> None:
    h = history(["init"], [float("nan")], "collapse", Collapse(1, "non_finite"))
    text = status_line(h, 0)
    assert "nan" not in text.lower()
    assert "undefined" in text
    assert "component 2 collapsed" in text
    assert "Component 2" in stop_message(h)


def test_stop_messages() -> None:
    climbing = history(["init", "E", "M"], [-3.0, -3.0, -2.6], "max_iter", last_gain=0.4,
                       expected_gain=2.5)
    assert "Not converged" in stop_message(climbing)
    # The last gain alone may be below the tolerance: the message says what the rule
    # expects still to come, beside the tolerance.
    assert "The last iteration gained 0.4, and extrapolating the last iterations, more EM " \
        "would still gain about 2.5, more than the tolerance 0.001." in stop_message(climbing)
    assert "Maximum iterations" in stop_message(climbing)
    assert status_line(climbing, 2).endswith(
        "not converged: iteration limit reached while still climbing (about 2.5 more to gain)"
        " \u00b7 log-likelihood " + MINUS + "2.60 (+0.40)")
    not_shrinking = history(["init", "E", "M"], [-3.0, -3.0, -2.6], "max_iter", last_gain=0.4,
                            expected_gain=float("inf"))
    assert "the gains are not shrinking yet" in stop_message(not_shrinking)
    assert "inf" not in status_line(not_shrinking, 2)
    # One iteration (max_iter = 1): no three log-likelihoods to extrapolate from (NaN).
    one = history(["init", "E", "M"], [-3.0, -3.0, -2.6], "max_iter", last_gain=0.4)
    assert "one iteration is too few to extrapolate" in stop_message(one)
    assert "not shrinking" not in stop_message(one)
    assert "nan" not in (stop_message(one) + status_line(one, 2)).lower()
    # A last step that lost likelihood (reg_covar, rounding) is not called a climb; Aitken's
    # estimate is then the size of the fall (-d), not a gain still to come.
    fell = history(["init", "E", "M", "E", "M"], [-3.0, -3.0, -2.0, -2.0, -2.5], "max_iter",
                   last_gain=-0.5, expected_gain=0.5)
    assert "lowered the log-likelihood by 0.5" in stop_message(fell)
    assert "climbing" not in stop_message(fell)
    assert "more to gain" not in status_line(fell, 4)
    assert "the last iteration lost 0.5" in status_line(fell, 4)
    saddle = history(["init", "E", "M"], [-3.0, -3.0, -3.0], "max_iter", twins=(0, 2))
    assert "components 1 and 3 on top of each other" in stop_message(saddle)
    assert "saddle" in status_line(saddle, 2)
    assert "climbing" not in status_line(saddle, 2)
    converged = stop_message(history(["init", "E", "M"], [-3, -3, -2]))
    assert "Converged after 1" in converged
    assert "more EM would raise" in converged
    unknown = history(["init", "E", "M"], [-3.0, -3.0, -2.6], "max_iter")
    assert "nan" not in stop_message(unknown).lower()


# --------------------------------------------------------------------------- cursor
PHASES = ["init", "E", "M", "E", "M"]


def test_e_step_moves_one_then_says_already_current() -> None:
    move = cursor.move("E", 0, PHASES, "stop")
    assert (move.cursor, move.message) == (1, None)
    again = cursor.move("E", 1, PHASES, "stop")
    assert again.cursor == 1
    assert again.message == cursor.ALREADY_CURRENT


def test_m_step_before_e_step_does_the_e_step_first_and_says_so() -> None:
    move = cursor.move("M", 0, PHASES, "stop")
    assert move.cursor == 2
    assert move.message == cursor.E_FIRST
    assert cursor.move("M", 1, PHASES, "stop") == cursor.Move(2, None, False)


def test_iterate_back_reset_run() -> None:
    assert cursor.move("iterate", 0, PHASES, "s").cursor == 2
    assert cursor.move("iterate", 1, PHASES, "s").cursor == 2
    assert cursor.move("iterate", 2, PHASES, "s") == cursor.Move(4, None, True)
    assert cursor.move("back", 3, PHASES, "s").cursor == 2
    assert cursor.move("back", 0, PHASES, "s").message == cursor.AT_START
    assert cursor.move("reset", 4, PHASES, "s") == cursor.Move(0, cursor.RESET_DONE, False)
    assert cursor.move("run", 1, PHASES, "why") == cursor.Move(4, "why", True)


def test_nothing_is_silently_skipped_at_the_end() -> None:
    for action in ("E", "M", "iterate", "play"):
        move = cursor.move(action, 4, PHASES, "Converged.")
        assert move.cursor == 4
        assert move.message
        assert "Converged." in move.message
    # A run that stopped after an E-step (collapse): the M-step says why it cannot happen.
    collapsed = ["init", "E", "M", "E"]
    move = cursor.move("M", 3, collapsed, "Component 2 collapsed.")
    assert move.cursor == 3
    assert "Component 2 collapsed." in move.message
    move = cursor.move("M", 2, collapsed, "Component 2 collapsed.")
    assert move.cursor == 3
    assert "not the M-step" in move.message


def test_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="Unknown action"):
        cursor.move("jump", 0, PHASES, "s")  # type: ignore[arg-type]
