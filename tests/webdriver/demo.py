#!/usr/bin/env python3
"""Drives the real VMDeck app through WebKitWebDriver: starts it with --demo, waits for the
Demo cluster to show Connected and Simulated, saves a screenshot. The app runs in a throwaway
HOME (its demo folder, `<data>/demo`, is kept across restarts). Run under a display
(scripts/test-ui.sh wraps it in xvfb-run + dbus-run-session). Usage: demo.py BINARY OUT.png
Every check raises CheckFailed (never a bare assert, which `python3 -O` would skip)."""

import base64
import json
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEMO_CARD = '[data-cluster="Demo cluster"]'
CONNECTED = DEMO_CARD + ' [data-status="connected"]'
SIMULATED = DEMO_CARD + ' .badge.simulated'


class CheckFailed(Exception):
    """A check of what the app shows did not hold."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def request(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read() or b"{}").get("value")
        except urllib.error.HTTPError as err:
            detail = json.loads(err.read() or b"{}").get("value", {})
            raise RuntimeError(f"{method} {path}: {err.code} {detail}") from None

    def s(self, method, path, body=None):
        return self.request(method, f"/session/{self.session}{path}", body)

    def find(self, css):
        """The element's id, or None when absent."""
        try:
            found = self.s("POST", "/element", {"using": "css selector", "value": css})
        except RuntimeError as err:
            if "no such element" in str(err):
                return None
            raise
        return next(iter(found.values()))

    def wait_for(self, css, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            element = self.find(css)
            if element:
                return element
            time.sleep(0.25)
        raise TimeoutError(f"{css} did not appear within {seconds} s")


def wait_port(port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"WebKitWebDriver did not listen on {port}")


def throwaway_env(home):
    """The environment for an app in the throwaway HOME `home` (never the user's folders)."""
    env = dict(os.environ, TAURI_WEBVIEW_AUTOMATION="true", HOME=home,
               XDG_DATA_HOME=f"{home}/.local/share", XDG_CONFIG_HOME=f"{home}/.config",
               XDG_CACHE_HOME=f"{home}/.cache", XDG_STATE_HOME=f"{home}/.local/state")
    env.pop("VMDECK_HOME", None)
    return env


def main():
    binary, screenshot = os.path.abspath(sys.argv[1]), sys.argv[2]
    port = free_port()
    home = tempfile.mkdtemp(prefix="vmdeck-webdriver-")
    env = throwaway_env(home)
    driver_proc = subprocess.Popen(["WebKitWebDriver", f"--port={port}"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = WebDriver(port)
    try:
        wait_port(port)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "webkitgtk:browserOptions": {"binary": binary, "args": ["--demo"]},
        }}}
        driver.session = driver.request("POST", "/session", caps)["sessionId"]
        driver.wait_for(CONNECTED, 60)
        card = driver.find(DEMO_CARD)
        text = driver.s("GET", f"/element/{card}/text")
        check(driver.find(SIMULATED), "the Demo cluster is not marked Simulated")
        check("Kubernetes v1.34.1" in text, f"no Kubernetes version in the card: {text!r}")
        check(driver.find('[data-testid="demo-banner"]'), "no demo-mode banner")
        # A screenshot right after a DOM change may show the previous frame: wait two frames.
        driver.s("POST", "/execute/async", {"script": "const done = arguments[0];"
                 "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": []})
        png = base64.b64decode(driver.s("GET", "/screenshot"))
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        with open(screenshot, "wb") as f:
            f.write(png)
        print(f"webdriver: Demo cluster Connected and Simulated; screenshot {screenshot} ({len(png)} bytes)")
    finally:
        if driver.session:
            try:
                driver.s("DELETE", "")
            except Exception:  # the app may already be gone; the driver is stopped below
                pass
        driver_proc.terminate()
        driver_proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except (CheckFailed, TimeoutError, RuntimeError) as err:
        print(f"webdriver: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
