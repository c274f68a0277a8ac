"""The settings dataclass: defaults, the URL round trip, invalid links, typed means."""

from __future__ import annotations

import numpy as np
import pytest

from gmm_app import state
from gmm_app.state import Settings, parse_means
from gmm_core import INIT_METHODS, datasets


def test_defaults_follow_the_data_set_spec() -> None:
    for n_features, name in ((1, "three_gaussians_1d"), (2, "blobs")):
        settings = Settings.defaults(n_features)
        spec = datasets.describe(name)
        assert settings.dataset == name
        assert settings.knobs == {knob.name: knob.default for knob in spec.knobs}
        assert settings.n_components == spec.suggested_k
        assert settings.covariance_type == "full"
        assert settings.init_method in INIT_METHODS
        assert settings.step == 0
        assert settings.reg_covar > 0


def test_query_round_trip_is_exact() -> None:
    original = Settings(
        n_features=2,
        dataset="anisotropic",
        knobs={"n_samples": 1230, "seed": 7, "separation": 2.7, "anisotropy": 11.5,
               "imbalance": 3.0},
        n_components=5,
        covariance_type="diag",
        init_method="manual",
        manual_means=((0.1, -2.0), (1e-7, 3.3333333333333335), (4.0, 5.0), (6.5, 7.0),
                      (-8.25, 9.0)),
        seed=123456,
        reg_covar=0.0,
        tol=1.5e-5,
        max_iter=250,
        step=17,
    )
    query = original.to_query()
    assert all(isinstance(v, str) for v in query.values())
    restored, messages = Settings.from_query(query, 2)
    assert messages == []
    assert restored == original
    assert restored.run_key() == original.run_key()


def test_round_trip_1d_and_list_values() -> None:
    original = Settings.defaults(1, "galaxies")
    original.covariance_type = "tied"
    original.manual_means = ((-2.0,), (0.5,))
    query = {k: [v] for k, v in original.to_query().items()}  # repeated-parameter form
    restored, messages = Settings.from_query(query, 1)
    assert messages == []
    assert restored == original


def test_empty_query_gives_defaults() -> None:
    settings, messages = Settings.from_query({}, 2)
    assert settings == Settings.defaults(2)
    assert messages == []


@pytest.mark.parametrize(
    ("key", "value", "field", "words"),
    [
        ("K", "abc", "n_components", "K must be a whole number from 1 to 10"),
        ("K", "11", "n_components", "K must be a whole number from 1 to 10"),
        ("cov", "banana", "covariance_type", "choose one of full, tied, diag, spherical"),
        ("init", "magic", "init_method", "choose one of"),
        ("seed", "-1", "seed", "seed must be a whole number"),
        ("reg_covar", "-1e-3", "reg_covar", "reg_covar must be a number from 0"),
        ("reg_covar", "nan", "reg_covar", "reg_covar must be a number"),
        ("tol", "0", "tol", "tol must be a number"),
        ("max_iter", "2.5", "max_iter", "max_iter must be a whole number"),
        ("d.n_samples", "3", "knobs", "d.n_samples must be a whole number from 10"),
    ],
)
def test_invalid_query_values_fall_back_with_a_message(
    key: str, value: str, field: str, words: str
) -> None:
    default = Settings.defaults(2)
    settings, messages = Settings.from_query({key: value}, 2)
    assert getattr(settings, field) == getattr(default, field)
    assert len(messages) == 1
    assert words in messages[0]
    assert "ignored" in messages[0]


def test_invalid_data_set_and_uploaded_data_fall_back() -> None:
    settings, messages = Settings.from_query({"dataset": "nope", "K": "2"}, 2)
    assert settings.dataset == "blobs"
    assert settings.n_components == 2  # the valid parts of the link still count
    assert "does not exist" in messages[0]
    settings, messages = Settings.from_query({"dataset": state.UPLOADED}, 2)
    assert settings.dataset == "blobs"
    assert "upload the file again" in messages[0]
    settings, messages = Settings.from_query(
        {"dataset": state.UPLOADED}, 2, extra_datasets=[state.UPLOADED]
    )
    assert settings.dataset == state.UPLOADED
    assert messages == []


def test_covariance_types_are_per_dimension() -> None:
    settings, messages = Settings.from_query({"cov": "diag"}, 1)
    assert settings.covariance_type == "full"
    assert "full, tied" in messages[0]


def test_bad_means_and_unknown_parameters_are_reported() -> None:
    settings, messages = Settings.from_query({"means": "1, 2, 3", "utm_source": "x"}, 2)
    assert settings.manual_means == ()
    assert any("two numbers" in m for m in messages)
    assert any("'utm_source'" in m for m in messages)


@pytest.mark.parametrize(
    ("text", "n_features", "expected"),
    [
        ("-2, 0, 3.5", 1, ((-2.0,), (0.0,), (3.5,))),
        ("\u22122 0; 3.5", 1, ((-2.0,), (0.0,), (3.5,))),
        ("1, 2; 4, 5", 2, ((1.0, 2.0), (4.0, 5.0))),
        ("(1, 2) (4, 5)", 2, ((1.0, 2.0), (4.0, 5.0))),
        ("[1 2]\n[4 5]", 2, ((1.0, 2.0), (4.0, 5.0))),
        ("", 2, ()),
    ],
)
def test_parse_means(text: str, n_features: int, expected: tuple) -> None:
    assert parse_means(text, n_features) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [("1, two", "'two' is not a number"), ("1, inf", "not a finite number"), ("1, 2, 3", "two")],
)
def test_parse_means_errors(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_means(text, 2)


def test_format_means_round_trips() -> None:
    means = ((0.1, 1 / 3), (-2.0, 1e-12))
    assert parse_means(state.format_means(means), 2) == means
    assert state.format_means(((1.5,), (-2.0,))) == "1.5, -2.0"


def test_add_mean_appends_then_starts_over() -> None:
    means = state.add_mean((), (1, 2), 2)
    means = state.add_mean(means, (3, 4), 2)
    assert means == ((1.0, 2.0), (3.0, 4.0))
    assert state.add_mean(means, (5, 6), 2) == ((5.0, 6.0),)


def test_describe_change_names_what_changed() -> None:
    old = Settings.defaults(2)
    new = Settings.defaults(2)
    new.n_components = 4
    new.reg_covar = 0.0
    new.step = 9  # the cursor is not part of the run
    text = state.describe_change(new, old)
    assert text.startswith("New run started")
    assert "K changed (3 \u2192 4)" in text
    assert "reg_covar changed (1e-06 \u2192 0)" in text
    assert "step" not in text
    assert old.changed_fields(old) == []


def test_run_key_ignores_the_cursor_only() -> None:
    a, b = Settings.defaults(2), Settings.defaults(2)
    b.step = 5
    assert a.run_key() == b.run_key()
    b.knobs["seed"] = 1
    assert a.run_key() != b.run_key()


def test_content_key_identifies_data_by_content() -> None:
    X = np.arange(6.0).reshape(3, 2)
    assert state.content_key(X) == state.content_key(X.copy())
    assert state.content_key(X) != state.content_key(X + 1e-12)
    assert state.content_key(X) != state.content_key(X.reshape(2, 3))


def test_link_text_in_messages_cannot_inject_markdown() -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    evil = "![x](https://evil.example/p.png)"
    page = Path(__file__).resolve().parents[1] / "pages" / "em-2d.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.query_params["dataset"] = evil
    at.run()
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert any("evil" in text for text in shown)
    # Escaped: the image syntax is backslash-escaped, so it renders as the literal text.
    assert all("![x](" not in text for text in shown)
    assert any(r"\!\[x\]\(" in text for text in shown)
