"""Link (URL query) checking derived from gmm_app.declared: the exact messages a lecturer sees.

Expected values are hand-written sentences and numbers (2**31 - 1 written out), and the
spellings a message promises are read back from the message itself and tried on every
on/off setting, so that what the page says and what it accepts cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gmm_app.declared import FIELDS, PAGES, Settings

ROOT = Path(__file__).resolve().parents[1]
BOOL_MESSAGE = "must be 1 (on) or 0 (off); on/off, true/false and yes/no are accepted too"


# --------------------------------------------------------------------------- whole numbers
def test_a_large_whole_number_limit_is_printed_plainly() -> None:
    _, messages = Settings.from_query({"seed": "1e30"}, "em2d")
    assert int(np.iinfo(np.int32).max) == 2_147_483_647
    assert messages == [
        "The link's seed='1e30' was ignored: seed must be a whole number from 0 to "
        "2,147,483,647. Using 0."
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sample_n": "1"}, "The link's sample_n='1' was ignored: sample_n must be a whole "
                            "number from 10 to 5,000. Using 500."),
        ({"K": "0"}, "The link's K='0' was ignored: K must be a whole number from 1 to 10. "
                     "Using 3."),
        ({"tol": "0"}, "The link's tol='0' was ignored: tol must be a number from 1e-12 to 10. "
                       "Using 0.001."),
        ({"speed": "99"}, "The link's speed='99' was ignored: speed must be a number from 0.5 "
                          "to 10. Using 2."),
    ],
)
def test_range_limits_in_messages(query: dict[str, str], message: str) -> None:
    assert Settings.from_query(query, "em2d")[1] == [message]


def test_no_message_prints_a_limit_in_scientific_notation_for_a_whole_number() -> None:
    for page in PAGES:
        settings = Settings.defaults(page.id)
        for f in settings.fields:
            if f.kind in ("int", "float") and f.link:
                _, messages = Settings.from_query({f.url: "nonsense"}, page.id)
                assert len(messages) == 1, (page.id, f.url, messages)
                assert not re.search(r"\de\+\d", messages[0]), messages[0]


# --------------------------------------------------------------------------- on/off
BOOL_FIELDS = [f for f in FIELDS if f.kind == "bool" and f.link]


def _spellings(message: str) -> tuple[list[str], list[str]]:
    """The on and off spellings a message promises ("1 (on) or 0 (off); a/b, c/d and e/f")."""
    first, rest = message.split("; ")
    on, off = re.fullmatch(r"must be (\S+) \(on\) or (\S+) \(off\)", first).groups()
    pairs = re.findall(r"(\w+)/(\w+)", rest)
    return [on, *(t for t, _ in pairs)], [off, *(f for _, f in pairs)]


def test_presenter_and_predict_read_the_same_spellings() -> None:
    assert {f.url for f in BOOL_FIELDS} >= {"present", "predict", "contours", "truth"}
    for url in ("present", "predict"):
        _, messages = Settings.from_query({url: "maybe"}, "em2d")
        assert messages == [
            f"The link's {url}='maybe' was ignored: {url} {BOOL_MESSAGE}. Using off."
        ]
    on, off = _spellings(BOOL_MESSAGE)
    assert on == ["1", "on", "true", "yes"]
    assert off == ["0", "off", "false", "no"]


@pytest.mark.parametrize("field", BOOL_FIELDS, ids=lambda f: f.url)
def test_every_on_off_setting_accepts_what_its_message_promises(field) -> None:
    page = next(p.id for p in PAGES if field.name in p.fields)
    _, messages = Settings.from_query({field.url: "maybe"}, page)
    assert messages == [
        f"The link's {field.url}='maybe' was ignored: {field.url} {BOOL_MESSAGE}. "
        f"Using {'on' if Settings.defaults(page).values[field.name] else 'off'}."
    ]
    on, off = _spellings(BOOL_MESSAGE)
    for words, value in ((on, True), (off, False)):
        for word in (*words, *(w.upper() for w in words), *(f" {w} " for w in words)):
            settings, messages = Settings.from_query({field.url: word}, page)
            assert messages == [], (field.url, word)
            assert settings.values[field.name] is value, (field.url, word)
    for word in ("2", "-1", "y", "n", "enabled", "oui", ""):
        _, messages = Settings.from_query({field.url: word}, page)
        assert len(messages) == 1, (field.url, word)
        assert BOOL_MESSAGE in messages[0], (field.url, word)


# --------------------------------------------------------------------------- unused parameters
@pytest.mark.parametrize(
    "page", ["pages/home.py", "pages/lessons.py", "pages/your-data.py", "pages/choose-k.py"]
)
def test_pages_name_a_link_parameter_they_do_not_use(page: str) -> None:
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.query_params["x"] = "1"
    at.run()
    assert not at.exception, at.exception
    shown = [re.sub(r"\\(.)", r"\1", str(w.value)) for w in at.warning]
    assert any("The link parameter 'x' is not used here and was ignored." in w for w in shown), (
        shown
    )


def test_lessons_without_parameters_show_no_link_warning() -> None:
    at = AppTest.from_file(str(ROOT / "pages/lessons.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert not at.warning


def test_lessons_name_several_unused_parameters_in_one_box() -> None:
    at = AppTest.from_file(str(ROOT / "pages/lessons.py"), default_timeout=60)
    at.query_params.update({"x": "1", "K": "3"})
    at.run()
    assert not at.exception, at.exception
    assert [re.sub(r"\\(.)", r"\1", str(w.value)) for w in at.warning] == [
        "The link parameters 'x', 'K' are not used here and were ignored."
    ]
