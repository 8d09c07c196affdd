"""A real browser for the work-queue page: headless Chromium from Debian's
`chromium` package, driven by Playwright through its executable (Playwright's
own browser downloads are never used). Without it the browser tests are skipped
and say why; under CI (SOPFLOW_REQUIRE_BROWSER=1, set by .ci/run) they fail. Screenshots go to test-artifacts/web/ (ignored by git)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SOPFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return (
            f"no Chromium at {CHROMIUM}: the work-queue browser tests need Debian's "
            "chromium package (apt-get install chromium; .ci/run installs it)"
        )
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if reason := _missing():
        if os.environ.get("SOPFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # Nothing downloaded: Debian's build, headless.
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        await b.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
