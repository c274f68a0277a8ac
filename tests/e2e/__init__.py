"""Browser tests (Playwright + system Chromium), marked ``e2e``."""
