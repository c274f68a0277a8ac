"""The declared state: defaults, the URL round trip of EVERY declared field, bad link values,
quoting of link text, typed means, change descriptions, content keys."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

from gmm_app import state
from gmm_app.declared import (
    FIELD,
    FIELDS,
    PAGE,
    PAGES,
    UPLOADED,
    Context,
    Field,
    RunSpec,
    Settings,
    describe_change,
    knob_fields,
    parse_means,
    quote,
)
from gmm_core import INIT_METHODS, datasets


def test_defaults_follow_the_data_set_spec() -> None:
    for page, name in (("em1d", "three_gaussians_1d"), ("em2d", "blobs")):
        settings = Settings.defaults(page)
        spec = datasets.describe(name)
        assert settings.dataset == name
        assert settings.knobs == {knob.name: knob.default for knob in spec.knobs}
        assert settings.n_components == spec.suggested_k
        assert settings.covariance_type == "full"
        assert settings.init_method in INIT_METHODS
        assert settings.step == 0
        assert settings.reg_covar > 0
        assert settings.contours is False if page == "em2d" else True
        assert settings.inspect is None


@pytest.mark.parametrize(
    ("page", "dataset", "k"),
    [("em2d", "old_faithful", 2), ("em1d", "two_gaussians_1d", 2), ("em2d", "iris", 3),
     ("em2d", "penguins", 3), ("em2d", "two_moons", 2), ("em1d", "galaxies", 3)],
)
def test_k_follows_the_data_set(page: str, dataset: str, k: int) -> None:
    assert Settings.defaults(page, dataset).n_components == k
    settings, messages = Settings.from_query({"dataset": dataset}, page)
    assert (settings.n_components, messages) == (k, [])
    # ... unless the link sets it.
    assert Settings.from_query({"dataset": dataset, "K": "5"}, page)[0].n_components == 5


def test_k_follows_the_true_number_of_blobs() -> None:
    for n in (2, 5):
        settings, _ = Settings.from_query({"dataset": "blobs", "d.n_clusters": str(n)}, "em2d")
        truth = datasets.load("blobs", n_clusters=n).true_params
        assert settings.n_components == truth.n_components == n


def test_query_round_trip_is_exact() -> None:
    original = Settings.defaults("em2d", "anisotropic").replace(
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
        chart_size="large",
        contours=True,
        truth=True,
        inspect=42,
        tab="inspect",
    )
    query = original.to_query()
    assert all(isinstance(v, str) for v in query.values())
    restored, messages = Settings.from_query(query, "em2d")
    assert messages == []
    assert restored == original
    assert restored.run_key() == original.run_key()


def test_round_trip_1d_and_list_values() -> None:
    original = Settings.defaults("em1d", "galaxies").replace(
        covariance_type="tied", manual_means=((-2.0,), (0.5,))
    )
    query = {k: [v] for k, v in original.to_query().items()}  # repeated-parameter form
    restored, messages = Settings.from_query(query, "em1d")
    assert messages == []
    assert restored == original


def test_empty_query_gives_defaults() -> None:
    for page in ("em1d", "em2d"):
        settings, messages = Settings.from_query({}, page)
        assert settings == Settings.defaults(page)
        assert messages == []


# --------------------------------------------------------------------------- every field
def _other_value(f: Field, default: object, ctx: Context) -> object:
    """A valid value different from ``default`` (from the field's declared range)."""
    if f.kind == "bool":
        return not default
    if f.kind == "choice":
        return next(c for c in f.choices_for(ctx) if c != default)
    if f.kind == "means":
        return tuple((1.5 * i,) * ctx.n_features for i in range(3))
    if f.kind == "int":
        lo, hi = int(f.lo or 0), int(f.hi) if f.hi is not None else 10**6
        return next(v for v in (lo + 7, lo + 1, hi) if lo <= v <= hi and v != default)
    lo, hi = float(f.lo or 0.0), float(f.hi if f.hi is not None else 1e6)
    value = lo + (hi - lo) / 3.0
    return value if value != default else (lo + hi) / 2.0


def _bad_text(f: Field) -> str:
    """A value the field must refuse, with a right-to-left override and a control character
    inside so that the quoting is exercised too."""
    return {
        "int": "7.5\u202e\x07",
        "float": "nan\u202e",
        "bool": "maybe\u202e",
        "choice": "nope\u202e\x1b[31m",
        "means": "1, x\u202e",
    }[f.kind]


def _cases() -> list[tuple[str, str, Field]]:
    """(page, data set, field) for every linked field of every page, and every knob of
    every data set."""
    cases = []
    for page in PAGES:
        if not page.fields:
            continue
        default_set = Settings.defaults(page.id).dataset
        cases += [(page.id, default_set, FIELD[n]) for n in page.fields if FIELD[n].link]
        for name in datasets.list_datasets(page.n_features):
            cases += [(page.id, name, knob) for knob in knob_fields(name)]
    return cases


CASES = _cases()


def test_the_walk_covers_every_declared_field() -> None:
    walked = {f.name for _, _, f in CASES if f.name in FIELD}
    linked = {n for p in PAGES for n in p.fields if FIELD[n].link}
    assert walked == linked
    assert {"dataset", "n_components", "step", "contours", "truth", "chart_size", "inspect",
            "tab"} <= walked
    assert any(f.url.startswith("d.") for _, _, f in CASES)


@pytest.mark.parametrize(("page", "dataset", "f"), CASES,
                         ids=[f"{p}-{d}-{f.url}" for p, d, f in CASES])
def test_every_field_round_trips_and_a_bad_value_keeps_the_default(
    page: str, dataset: str, f: Field
) -> None:
    base = Settings.defaults(page, dataset)
    is_knob = f.name not in FIELD or f.url.startswith("d.")
    ctx = base.context()
    if is_knob:
        value = _other_value(f, base.knobs[f.name], ctx)
        changed = base.replace(knobs={**base.knobs, f.name: value})
        if f.name == "n_clusters" and "n_components" in base.values:  # K follows it
            changed = changed.replace(n_components=int(value))
    else:
        value = _other_value(f, base.values[f.name], ctx)
        changed = base.replace(**{f.name: value})
        if f.name == "dataset":
            changed = Settings.defaults(page, str(value))
    query = changed.to_query()
    assert query[f.url] == f.format(value)
    restored, messages = Settings.from_query(query, page)
    assert messages == []
    assert restored == changed, f.url

    bad = _bad_text(f)
    settings, messages = Settings.from_query({"dataset": dataset, f.url: bad}, page)
    assert settings == base, f"{f.url}: the default must be kept"
    assert len(messages) == 1, messages
    message = messages[0]
    assert "ignored" in message
    assert (f.url in message) or (f.kind == "means" and "starting means" in message) or (
        f.name == "dataset" and "does not exist" in message)
    # The link's own text is quoted, with its invisible and control characters made visible.
    assert "\u202e" not in message
    assert "\x07" not in message
    assert "\x1b" not in message
    assert "\\u202e" in message


def test_fields_a_link_does_not_carry() -> None:
    hidden = [f for f in FIELDS if not f.link]
    assert hidden  # e.g. what a click on the chart does
    settings = Settings.defaults("em2d")
    for f in hidden:
        assert f.url not in settings.to_query()
        restored, messages = Settings.from_query({f.url: f.format(f.default)}, "em2d")
        assert restored == settings
        assert "not used here" in messages[0]


def test_fields_of_another_page_are_not_used_here() -> None:
    settings, messages = Settings.from_query({"contours": "1", "truth": "1"}, "em1d")
    assert settings == Settings.defaults("em1d")
    assert messages == [
        "The link parameters 'contours', 'truth' are not used here and were ignored."
    ]


def test_many_unknown_parameters_make_one_message() -> None:
    query = {f"utm_{i}": "x" for i in range(40)}
    settings, messages = Settings.from_query(query, "em2d")
    assert settings == Settings.defaults("em2d")
    assert len(messages) == 1
    assert "'utm_0', 'utm_1', 'utm_2', 'utm_3', 'utm_4' and 35 more" in messages[0]


def test_quote_escapes_control_and_bidi_characters_and_cuts_long_text() -> None:
    text = "a\u202eb\u2066c\x00d\ne\u200ff"
    quoted = quote(text)
    assert quoted == "'a\\u202eb\\u2066c\\u0000d\\u000ae\\u200ff'"
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in quoted)
    long = quote("x" * 500)
    assert long == "'" + "x" * 60 + "\u2026'"
    settings, messages = Settings.from_query({"K": "9" * 500}, "em2d")
    assert len(messages[0]) < 200


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
        ("contours", "2", "contours", "contours must be 1 (on) or 0 (off)"),
        ("size", "huge", "chart_size", "choose one of fit, large, xlarge"),
        ("inspect", "-3", "inspect", "inspect must be a whole number from 0 up"),
        ("tab", "x", "tab", "choose one of parameters, inspect"),
        ("d.n_samples", "3", "knobs", "d.n_samples must be a whole number from 10"),
    ],
)
def test_invalid_query_values_fall_back_with_a_message(
    key: str, value: str, field: str, words: str
) -> None:
    default = Settings.defaults("em2d")
    settings, messages = Settings.from_query({key: value}, "em2d")
    assert getattr(settings, field) == getattr(default, field)
    assert len(messages) == 1
    assert words in messages[0]
    assert "ignored" in messages[0]
    assert f"{key}='{value}'" in messages[0]


def test_invalid_data_set_and_uploaded_data_fall_back() -> None:
    settings, messages = Settings.from_query({"dataset": "nope", "K": "2"}, "em2d")
    assert settings.dataset == "blobs"
    assert settings.n_components == 2  # the valid parts of the link still count
    assert "does not exist" in messages[0]
    settings, messages = Settings.from_query({"dataset": UPLOADED}, "em2d")
    assert settings.dataset == "blobs"
    assert messages == [state.upload_fallback_message(2)]
    assert "upload the file again" in messages[0]
    settings, messages = Settings.from_query(
        {"dataset": UPLOADED}, "em2d", extra_datasets=[UPLOADED]
    )
    assert settings.dataset == UPLOADED
    assert messages == []


def test_covariance_types_are_per_dimension() -> None:
    settings, messages = Settings.from_query({"cov": "diag"}, "em1d")
    assert settings.covariance_type == "full"
    assert "full, tied" in messages[0]


def test_bad_means_and_unknown_parameters_are_reported() -> None:
    settings, messages = Settings.from_query({"means": "1, 2, 3", "utm_source": "x"}, "em2d")
    assert settings.manual_means == ()
    assert any("two numbers" in m for m in messages)
    assert any("'utm_source'" in m for m in messages)


def test_pages_table_names_files_after_paths() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert len({p.id for p in PAGES}) == len(PAGES)
    assert len({p.path for p in PAGES}) == len(PAGES)
    for page in PAGES:
        assert (root / page.file).is_file(), page.file
        assert Path(page.file).stem == (page.path or "home")
        assert all(name in FIELD for name in page.fields)
    assert PAGE["em2d"].n_features == 2


def test_run_spec_carries_the_run_defining_fields() -> None:
    settings = Settings.defaults("em2d").replace(n_components=4, tol=1e-5, step=3, contours=True)
    spec = settings.run_spec("builtin:x")
    assert isinstance(spec, RunSpec)
    assert (spec.data_key, spec.n_components, spec.tol) == ("builtin:x", 4, 1e-5)
    with pytest.raises(AttributeError):
        spec.n_components = 5  # type: ignore[misc]  # frozen
    run_fields = {f.name for f in FIELDS if f.effect == "run"} - {"dataset"}
    assert run_fields == set(RunSpec.__dataclass_fields__) - {"data_key"}


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
    old = Settings.defaults("em2d")
    new = old.replace(n_components=4, reg_covar=0.0, step=9, contours=True)
    text = describe_change(new, old)
    assert text.startswith("New run started")
    assert "K changed (3 \u2192 4)" in text
    assert "reg_covar changed (1e-06 \u2192 0)" in text
    assert "step" not in text  # the cursor is not part of the run
    assert "contours" not in text  # nor are display options
    assert old.changed_fields(old) == []


def test_run_key_ignores_the_cursor_and_the_display_only() -> None:
    a = Settings.defaults("em2d")
    b = a.replace(step=5, contours=True, chart_size="large", inspect=3, tab="inspect")
    assert a.run_key() == b.run_key()
    c = b.replace(knobs={**b.knobs, "seed": 1})
    assert a.run_key() != c.run_key()


def test_content_key_is_the_one_hasher_for_arrays_files_and_text() -> None:
    X = np.arange(6.0).reshape(3, 2)
    assert state.content_key(X) == state.content_key(X.copy())
    assert state.content_key(X) != state.content_key(X + 1e-12)
    assert state.content_key(X) != state.content_key(X.reshape(2, 3))
    assert state.content_key(b"1,2") != state.content_key("1,2")  # a file is not pasted text
    assert state.content_key(b"1,2") == state.content_key(b"1,2")
    assert all(len(state.content_key(c).split(":")[1]) == 64 for c in (X, b"a", "a"))


def test_numbers_in_messages_are_never_nan() -> None:
    for f in FIELDS:
        if f.kind in ("int", "float"):
            assert f.lo is None or math.isfinite(f.lo)
            assert f.requirement(Context()).count("nan") == 0


def test_link_text_in_messages_cannot_inject_markdown() -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    evil = "![x](https://evil.example/p.png)"
    page = Path(__file__).resolve().parents[1] / "pages" / "em-2d.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.query_params["dataset"] = evil
    at.query_params.update({f"junk{i}\u202e": "1" for i in range(9)})
    at.run()
    assert not at.exception
    shown = [w.value for w in at.warning]
    assert len(shown) == 1  # every problem of the link in one box
    assert "evil" in shown[0]
    # Escaped: the image syntax is backslash-escaped, so it renders as the literal text.
    assert "![x](" not in shown[0]
    assert r"\!\[x\]\(" in shown[0]
    assert "\u202e" not in shown[0]
    assert "and 4 more" in shown[0]


def _strategy(f: Field, ctx: Context) -> object:
    """A hypothesis strategy of the valid values of ``f`` (from its declared range)."""
    from hypothesis import strategies as hs

    if f.kind == "bool":
        return hs.booleans()
    if f.kind == "choice":
        return hs.sampled_from(f.choices_for(ctx))
    if f.kind == "means":
        coords = hs.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
        return hs.lists(hs.tuples(*[coords] * ctx.n_features), max_size=4).map(tuple)
    if f.kind == "int":
        ints = hs.integers(int(f.lo or 0), int(f.hi) if f.hi is not None else 10**9)
        return hs.none() | ints if f.optional else ints
    return hs.floats(float(f.lo or 0.0), float(f.hi if f.hi is not None else 1e9),
                     allow_nan=False, allow_infinity=False)


def test_random_settings_round_trip_exactly() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as hs

    base = Settings.defaults("em2d", "blobs")
    ctx = base.context()
    linked = [f for f in base.fields if f.link and f.name != "dataset"]

    @settings(max_examples=150, deadline=None)
    @given(hs.fixed_dictionaries({f.name: _strategy(f, ctx) for f in linked}))
    def check(values: dict) -> None:
        original = base.replace(**values)
        restored, messages = Settings.from_query(original.to_query(), "em2d")
        assert messages == []
        assert restored == original

    check()
