"""A real headless Chromium (Debian's, driven by Selenium through the system chromedriver).

Selenium is blocking while the API under test runs on the test's own event loop, so every
browser step runs in a thread (`Browser.run`).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "dashboard-screenshots"


class Browser:
    """One Chromium window, its download folder, and waits that name what they wait for."""

    def __init__(self, driver: webdriver.Chrome, downloads: Path) -> None:
        self.driver = driver
        self.downloads = downloads

    async def run(self, step: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(step, *args)

    def find(self, css: str, timeout: float = 20) -> WebElement:
        try:
            return WebDriverWait(self.driver, timeout).until(
                ec.visibility_of_element_located((By.CSS_SELECTOR, css))
            )
        except TimeoutException:
            raise AssertionError(f"{css!r} never showed; page: {self.text()[:2000]}") from None

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_text(self, css: str, needle: str, timeout: float = 20) -> WebElement:
        deadline = time.monotonic() + timeout
        while True:
            for element in self.find_all(css):
                if needle in element.text:
                    return element
            if time.monotonic() > deadline:
                self.screenshot("failure")
                logs = self.driver.get_log("browser")
                page = self.text()[:2000]
                raise AssertionError(f"{needle!r} not in {css!r}; page: {page}; console: {logs}")
            time.sleep(0.1)

    def wait_without(self, css: str, needle: str, timeout: float = 20) -> None:
        """Until no element matching `css` shows `needle` (a list re-rendered by a filter)."""
        deadline = time.monotonic() + timeout
        while any(needle in element.text for element in self.find_all(css)):
            if time.monotonic() > deadline:
                self.screenshot("failure")
                raise AssertionError(f"{needle!r} still in {css!r}; page: {self.text()[:2000]}")
            time.sleep(0.1)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def open(self, url: str) -> None:
        self.driver.get(url)

    def go(self, fragment: str) -> None:
        self.driver.execute_script("window.location.hash = arguments[0];", fragment)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def downloaded(self, name: str, timeout: float = 20) -> Path:
        target = self.downloads / name
        deadline = time.monotonic() + timeout
        while not target.exists() or target.with_suffix(target.suffix + ".crdownload").exists():
            if time.monotonic() > deadline:
                have = list(self.downloads.iterdir())
                raise AssertionError(f"{name} not downloaded; have {have}")
            time.sleep(0.1)
        return target

    def console_errors(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE"
        ]


@pytest.fixture(scope="session")
def chromium_driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail("Chromium and chromedriver are needed: make test installs them (Debian)")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # the suite runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=en-GB",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield Browser(driver, downloads)
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium_driver: Browser) -> Iterator[Browser]:
    """The shared window, signed out and on a blank page for each test."""
    chromium_driver.driver.get("about:blank")
    yield chromium_driver
    chromium_driver.driver.delete_all_cookies()
