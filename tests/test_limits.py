"""Issue 10, a fair share: the limits are declared once and agree with Streamlit's own; a run
whose single iteration is too costly is refused with a message that says what to lower
(longer runs are computed lazily, within wall-time budgets: tests/test_app_lazy_run.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gmm_app import engine, upload
from gmm_app.declared import (
    MAX_ITERATION_WORK,
    MAX_PASTE_CHARS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    STEPPER_PAGE,
    Settings,
)

CONFIG = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml")
                       .read_text(encoding="utf-8"))


def test_upload_limit_is_streamlits() -> None:
    assert CONFIG["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 1_000_000  # the uploader counts MB of 10^6 B


def test_a_paste_fits_in_one_websocket_message() -> None:
    from streamlit import config

    # server.maxWidgetStateSize (MB of 10^6 bytes) caps a client message; UTF-8 <= 4 B/char.
    limit = CONFIG["server"].get("maxWidgetStateSize",
                                 config.get_option("server.maxWidgetStateSize")) * 1_000_000
    assert 4 * MAX_PASTE_CHARS < limit


def test_streamlit_does_not_collect_after_every_run() -> None:
    assert CONFIG["runner"]["postScriptGC"] is False


def test_too_long_paste_gets_the_apps_message() -> None:
    with pytest.raises(upload.UploadError, match=f"{MAX_PASTE_CHARS:,} characters"):
        upload.parse_text("1,2\n" * (MAX_PASTE_CHARS // 4 + 1))


def test_file_at_streamlits_limit_gets_the_apps_message() -> None:
    raw = b"1,2\n" * (MAX_UPLOAD_BYTES // 4)
    with pytest.raises(upload.UploadError, match=r"upload limit of 50 MB \(it is 50\.0 MB\)"):
        upload.parse_table(raw, "big.csv")


def _spec(n_components: int, max_iter: int) -> object:
    return Settings.defaults(STEPPER_PAGE[2]).replace(
        n_components=n_components, max_iter=max_iter).run_spec("blobs")


def test_too_costly_iteration_is_refused_with_what_to_lower() -> None:
    message = engine.too_large_message(1_000_000, _spec(10, 1000))
    assert message is not None
    assert "1,000,000 \u00d7 10 = 10,000,000" in message
    # Each suggestion, applied alone, brings one iteration within the budget.
    k = int(re.search(r"K to ([\d,]+)", message).group(1).replace(",", ""))
    n = int(re.search(r"number of points to ([\d,]+)", message).group(1).replace(",", ""))
    assert 1_000_000 * k <= MAX_ITERATION_WORK < 1_000_000 * (k + 1)
    assert n * 10 <= MAX_ITERATION_WORK < (n + 1) * 10


def test_long_runs_are_not_refused() -> None:
    # Computed lazily as far as they are shown: the heavy link included.
    assert engine.too_large_message(600, _spec(3, 300)) is None
    assert engine.too_large_message(50_000, _spec(3, 300)) is None
    assert engine.too_large_message(200_000, _spec(10, 1000)) is None


def test_too_many_rows_refused_before_parsing() -> None:
    from gmm_app.declared import MAX_ROWS

    raw = b"a,b\n" + b"1,2\n" * (MAX_ROWS + 5)
    with pytest.raises(upload.UploadError, match=f"at most {MAX_ROWS:,} rows are read"):
        upload.parse_table(raw, "many.csv")
    assert len(upload.parse_table(b"a,b\n" + b"1,2\n3,4\n" * 10, "ok.csv").frame) == 20


def test_file_name_in_messages_is_quoted_safely() -> None:
    name = "\u202eatad-ruoy" + "x" * 200 + ".csv"
    with pytest.raises(upload.UploadError) as info:
        upload.parse_table(b"", name)
    message = str(info.value)
    assert "\u202e" not in message
    assert "\\u202e" in message
    assert "x" * 100 not in message  # cut
