"""The web status page in a real headless Chromium (run by scripts/browser-check.sh).

Against a live agent running the embedded demo (PROCMGR_URL), it checks that:
  1. the table lists the processes, each with a pid;
  2. a crash (POST /crash to web-1's own port) shows in web-1's row within 1 s of the crash
     request, without a reload (its last exit or restart count changes), and the restart follows;
  3. the log pane follows the selected process (web-1's "crashing on request" line appears);
  4. clicking web-2's Restart button restarts it (its pid changes);
  5. on an agent that requires a token (TOKEN_AGENT_URL), Restart brings up the token prompt and,
     once the token (TOKEN) is entered, restarts the process.
The screenshot is saved to SCREENSHOT. Every wait is a WebDriverWait with an explicit deadline.
"""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["PROCMGR_URL"]
SCREENSHOT = os.environ["SCREENSHOT"]
PROCESSES = ["web-1", "web-2", "flaky-1", "worker-1"]


def api(path, method="GET"):
    request = urllib.request.Request(BASE + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ["CHROMIUM"]
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=os.environ["CHROMEDRIVER"]), options=options)


def cell(driver, process, column):
    return driver.find_element(By.CSS_SELECTOR, f'tr[data-id="{process}"] td[data-col="{column}"]').text


def wait_for(driver, seconds, what, condition):
    """WebDriverWait until condition(driver) is truthy; fails with `what` and the time it took."""
    def safe(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.02).until(safe)
    except TimeoutException:
        raise AssertionError(f"not within {seconds} s: {what}") from None


def run(driver):
    started = time.monotonic()
    driver.get(BASE + "/")
    assert driver.title == "procmgr", driver.title

    # 1. Every demo process is listed and running with a pid.
    wait_for(driver, 15, "every process listed with a pid",
             lambda d: all(cell(d, p, "pid").isdigit() and cell(d, p, "state") == "running" for p in PROCESSES))
    wait_for(driver, 5, "the events stream connected", lambda d: d.find_element(By.ID, "connection").text == "live")
    print("table: " + ", ".join(f"{p} pid {cell(driver, p, 'pid')}" for p in PROCESSES))

    # 3 (set up). Follow web-1's log.
    driver.find_element(By.CSS_SELECTOR, 'tr[data-id="web-1"] button[data-action="select"]').click()
    wait_for(driver, 5, "the log pane follows web-1",
             lambda d: d.find_element(By.ID, "log-status").text == "following web-1"
             and "web-1: started" in d.find_element(By.ID, "log").text)

    # 2. A crash shows within 1 s, without a reload.
    restarts_before = int(cell(driver, "web-1", "restarts"))
    last_exit_before = cell(driver, "web-1", "lastExit")
    pid_before = cell(driver, "web-1", "pid")
    marker = driver.execute_script("return window.performance.timeOrigin")
    port = api("/api/v1/processes/web-1")["port"]
    crash_sent = time.monotonic()
    api_crash = urllib.request.Request(f"http://127.0.0.1:{port}/crash", method="POST", data=b"")
    with urllib.request.urlopen(api_crash, timeout=5) as response:
        assert response.status == 202, response.status
    remaining = 1.0 - (time.monotonic() - crash_sent)
    wait_for(driver, max(remaining, 0.01), "web-1's crash shown in its row within 1 s of the crash request",
             lambda d: cell(d, "web-1", "lastExit") != last_exit_before or int(cell(d, "web-1", "restarts")) > restarts_before)
    shown_after = time.monotonic() - crash_sent
    print(f"crash shown {shown_after * 1000:.0f} ms after the crash request "
          f"(last exit {cell(driver, 'web-1', 'lastExit')!r}, restarts {cell(driver, 'web-1', 'restarts')})")
    # No reload happened: the page's time origin is the same document's.
    assert driver.execute_script("return window.performance.timeOrigin") == marker, "the page was reloaded"
    wait_for(driver, 15, "web-1 restarted after its crash (new pid, one more restart)",
             lambda d: cell(d, "web-1", "pid") not in ("", pid_before)
             and int(cell(d, "web-1", "restarts")) == restarts_before + 1)

    # 3. The log pane followed: the crash line and the new program's first line arrived.
    wait_for(driver, 5, "web-1's log shows the crash and the new start",
             lambda d: "web-1: crashing on request" in d.find_element(By.ID, "log").text
             and d.find_element(By.ID, "log").text.count("web-1: started") >= 2)

    # 4. The restart button restarts web-2: its pid changes.
    pid_web2 = cell(driver, "web-2", "pid")
    driver.find_element(By.CSS_SELECTOR, 'tr[data-id="web-2"] button[data-action="restart"]').click()
    wait_for(driver, 15, "web-2 restarted by its button (new pid)",
             lambda d: cell(d, "web-2", "pid") not in ("", pid_web2) and cell(d, "web-2", "state") == "running")
    assert "restart requested for web-2" in driver.find_element(By.ID, "notice").text
    assert driver.find_element(By.ID, "banner").get_attribute("hidden") is not None, "the disconnected banner shows"
    print(f"web-2 pid {pid_web2} -> {cell(driver, 'web-2', 'pid')} after the Restart click")

    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    driver.save_screenshot(SCREENSHOT)
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"errors in the browser console: {errors}"
    print(f"demo checks passed in {time.monotonic() - started:.1f} s; screenshot {SCREENSHOT}")


def run_with_token(driver):
    started = time.monotonic()
    driver.get(os.environ["TOKEN_AGENT_URL"] + "/")
    wait_for(driver, 15, "sleeper listed with a pid", lambda d: cell(d, "sleeper", "pid").isdigit())
    form = driver.find_element(By.ID, "token-form")
    assert not form.is_displayed(), "the token prompt shows before anything needed the token"
    pid = cell(driver, "sleeper", "pid")
    driver.find_element(By.CSS_SELECTOR, 'tr[data-id="sleeper"] button[data-action="restart"]').click()
    wait_for(driver, 5, "the token prompt after a 401", lambda d: d.find_element(By.ID, "token-form").is_displayed())
    assert "enter the API token" in driver.find_element(By.ID, "notice").text
    assert cell(driver, "sleeper", "pid") == pid, "restarted without the token"
    driver.find_element(By.ID, "token-input").send_keys(os.environ["TOKEN"])
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    wait_for(driver, 5, "the prompt closed", lambda d: not d.find_element(By.ID, "token-form").is_displayed())
    driver.find_element(By.CSS_SELECTOR, 'tr[data-id="sleeper"] button[data-action="restart"]').click()
    wait_for(driver, 15, "sleeper restarted with the token (new pid)",
             lambda d: cell(d, "sleeper", "pid") not in ("", pid) and cell(d, "sleeper", "state") == "running")
    errors = [entry for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE" and "401 (Unauthorized)" not in entry["message"]]
    assert not errors, f"errors in the browser console: {errors}"
    print(f"token checks passed in {time.monotonic() - started:.1f} s")


def main():
    driver = make_driver()
    try:
        run(driver)
        run_with_token(driver)
    except AssertionError as failure:
        try:
            driver.save_screenshot(SCREENSHOT)
            for entry in driver.get_log("browser"):
                print("console:", entry, file=sys.stderr)
        finally:
            print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
