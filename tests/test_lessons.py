"""The Lessons page: every link is a complete, valid view made from the declared settings."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from gmm_app import lessons
from gmm_app.declared import PAGES, Settings

ROOT = Path(__file__).resolve().parents[1]
ALL_LINKS = [(lesson.id, label, s) for lesson in lessons.lessons() for label, s in lesson.links]


@pytest.mark.parametrize(("lesson", "label", "settings"), ALL_LINKS,
                         ids=[f"{a}-{b}" for a, b, _ in ALL_LINKS])
def test_each_link_opens_exactly_its_view(lesson: str, label: str, settings: Settings) -> None:
    link = urlparse(lessons.lesson_link(settings))
    page = next(p for p in PAGES if f"/{p.path}" == link.path)
    back, messages = Settings.from_query(dict(parse_qsl(link.query)), page.id)
    assert not messages
    assert back == settings


def test_at_least_the_issues_lessons() -> None:
    ids = {lesson.id for lesson in lessons.lessons()}
    assert {"old-faithful", "soft-hard", "full-covariances", "local-optima", "collapse",
            "choose-k", "stopping-rule"} <= ids
    choose = next(x for x in lessons.lessons() if x.id == "choose-k")
    assert lessons.lesson_link(choose.links[0][1]).startswith("/choose-k?")


def test_snapshots_are_the_textbook_iterations() -> None:
    assert lessons.snapshot_cursors(200) == [2, 4, 10, 40]
    assert lessons.snapshot_cursors(7) == [2, 4, 6, 6]
    fig = lessons.old_faithful_snapshots().to_plotly_json()
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["L = 1", "L = 2", "L = 5",
                                                                  "L = 20"]
    names = [t.get("name") for t in fig["data"]]
    assert names.count("points") == 4


def test_the_lessons_page_runs_and_shows_every_link() -> None:
    at = AppTest.from_file(str(ROOT / "pages/lessons.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    text = "\n".join(m.value for m in at.markdown)
    for _, _, settings in ALL_LINKS:
        assert lessons.lesson_link(settings) in text


def _status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if re.match(r"^##### (Start|Iteration)", m.value))


@pytest.mark.parametrize(("rule", "final"), [("loglik_change", "\u22121289.17"),
                                             ("aitken", "\u22121130.26")])
def test_stopping_rule_lesson_ends_where_it_says(rule: str, final: str) -> None:
    lesson = next(x for x in lessons.lessons() if x.id == "stopping-rule")
    settings = next(s for _, s in lesson.links if s.stop_rule == rule)
    link = urlparse(lessons.lesson_link(settings))
    at = AppTest.from_file(str(ROOT / "pages/em-2d.py"), default_timeout=60)
    for key, value in parse_qsl(link.query):
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    at.button(key="em2d.button.run").click().run()
    assert not at.exception, at.exception
    assert final in _status(at)


STEPPER_LINKS = [(lesson, label, s) for lesson, label, s in ALL_LINKS
                 if s.page in ("em1d", "em2d") and not (lesson == "collapse" and s.reg_covar == 0)]


@pytest.mark.parametrize(("lesson", "label", "settings"), STEPPER_LINKS,
                         ids=[f"{a}-{b}" for a, b, _ in STEPPER_LINKS])
def test_run_to_convergence_converges_in_every_lesson(lesson: str, label: str,
                                                      settings: Settings) -> None:
    """A lecturer who follows a script and presses Run gets "converged", not a warning
    (only the collapse lesson's reg_covar = 0 link is meant to end otherwise)."""
    link = urlparse(lessons.lesson_link(settings))
    page = next(p for p in PAGES if f"/{p.path}" == link.path)
    at = AppTest.from_file(str(ROOT / f"pages/{page.path}.py"), default_timeout=120)
    for key, value in parse_qsl(link.query):
        at.query_params[key] = value
    at.run()
    at.button(key=f"{page.id}.button.run").click().run()
    assert not at.exception, at.exception
    assert " \u00b7 converged \u00b7 " in _status(at), _status(at)
