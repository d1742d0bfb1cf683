#!/usr/bin/env python3
"""Installing from the real VMDeck app through WebKitWebDriver, in demo mode, in a throwaway HOME.

1. `vmdeck --demo --reset-demo`: vm-dashboard-direct through Preflight and Plan (screenshot plan.png),
   Install (screenshot install.png); once a pack is Ready and another is not, the app is killed
   (SIGKILL).
2. `vmdeck --demo` again with the same HOME: the resume banner names the cut-short run; Resume
   ends Ready; the Installed view shows every pack healthy (screenshot installed.png).
3. `vmdeck --demo --reset-demo`: a fresh Demo cluster (no banner, nothing installed), installed to
   Ready without interruption: the demo install's time to Ready. Then, on that installed cluster
   (consoles.py): the VMs screen, a VNC console whose screenshot shows the guest's boot screen
   (screenshots vnc-canvas.png, vnc.png), and the serial console's login prompt (serial.png).
Prints the time to Ready and the app's memory (RSS and PSS of the app process and its webview
children) idle and during the install. Figures are printed, never asserted.

Run under a display (scripts/test-ui.sh wraps it in xvfb-run + dbus-run-session).
Usage: install.py BINARY ARTIFACT_DIR MIRROR
Every check raises CheckFailed (never a bare assert, which `python3 -O` would skip)."""

import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo import CheckFailed, WebDriver, check, free_port, throwaway_env, wait_port  # noqa: E402
from consoles import check_consoles  # noqa: E402

DEMO = "Demo cluster"
CARD = f'[data-cluster="{DEMO}"]'
RUN = f'[data-install="{DEMO}"]'
BANNER = f'[data-resume="{DEMO}"]'
INSTALLED = f'[data-installed-view="{DEMO}"]'
POLL = 0.2

# What the page shows about the install run(s): the run's state and each pack's state.
RUN_STATE_JS = """
const section = document.querySelector(arguments[0]);
const run = section && section.querySelector('.run');
if (!run) return null;
return {state: run.getAttribute('data-run-state'),
        packs: [...run.querySelectorAll('[data-pack-progress]')].map(
          (p) => [p.getAttribute('data-pack-progress'), p.getAttribute('data-state')])};
"""


def button(text):
    return f"//button[normalize-space()='{text}']"


class App:
    """One launch of the app under its own WebKitWebDriver, with the test's HOME."""

    def __init__(self, binary, args, env):
        self.port = free_port()
        self.proc = subprocess.Popen(["WebKitWebDriver", f"--port={self.port}"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.driver = WebDriver(self.port)
        wait_port(self.port)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "webkitgtk:browserOptions": {"binary": binary, "args": args},
        }}}
        self.driver.session = self.driver.request("POST", "/session", caps)["sessionId"]
        self.pid = self.app_pid(binary)

    def app_pid(self, binary):
        """The app process: WebKitWebDriver's child running BINARY."""
        for child in children(self.proc.pid):
            try:
                if os.path.realpath(f"/proc/{child}/exe") == os.path.realpath(binary):
                    return child
            except OSError:
                continue
        raise CheckFailed(f"no {binary} process under WebKitWebDriver {self.proc.pid}")

    # --- page access ---
    def find(self, css):
        return self.driver.find(css)

    def xfind(self, xpath, within=None):
        path = f"/element/{within}/element" if within else "/element"
        if within and xpath.startswith("//"):
            xpath = "." + xpath  # relative to `within`, not the whole document
        try:
            found = self.driver.s("POST", path, {"using": "xpath", "value": xpath})
        except RuntimeError as err:
            if "no such element" in str(err):
                return None
            raise
        return next(iter(found.values()))

    def js(self, script, *args):
        return self.driver.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, element):
        self.driver.s("POST", f"/element/{element}/click", {})

    def text(self, element):
        return self.driver.s("GET", f"/element/{element}/text")

    def attr(self, element, name):
        return self.driver.s("GET", f"/element/{element}/attribute/{name}")

    def until(self, what, seconds, probe, on_poll=None):
        """Polls `probe` (a page condition) until it answers something truthy; `on_poll` runs each
        round (memory samples)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if on_poll:
                on_poll()
            value = probe()
            if value:
                return value
            time.sleep(POLL)
        raise TimeoutError(f"{what} not seen within {seconds} s")

    def wait_css(self, css, seconds):
        return self.until(css, seconds, lambda: self.find(css))

    def wait_xpath(self, xpath, seconds, within=None):
        return self.until(xpath, seconds, lambda: self.xfind(xpath, within))

    def next_step(self, label):
        self.click(self.wait_xpath(button(f"Next: {label}"), 30))
        self.until(f"step {label}", 30, lambda: self.xfind(
            f"//h3[contains(@class,'step-title') and contains(normalize-space(), ': {label}')]"))

    def run_state(self, section):
        return self.js(RUN_STATE_JS, section)

    def screenshot(self, path):
        # A screenshot right after a DOM change may show the previous frame: wait two frames.
        self.driver.s("POST", "/execute/async", {"script": "const done = arguments[0];"
                      "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": []})
        png = base64.b64decode(self.driver.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        print(f"webdriver-install: screenshot {path} ({len(png)} bytes)")

    # --- memory ---
    def memory(self):
        """(RSS, PSS) in KiB of the app process and every process under it (the webview's)."""
        rss = pss = 0
        for pid in [self.pid, *descendants(self.pid)]:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        key, value = line.split(":", 1)
                        if key == "Rss":
                            rss += int(value.split()[0])
                        elif key == "Pss":
                            pss += int(value.split()[0])
            except OSError:
                continue
        return rss, pss

    # --- ending ---
    def kill(self):
        """SIGKILL the app process (not its driver); its webview processes must end with it."""
        webview = descendants(self.pid)
        os.kill(self.pid, signal.SIGKILL)
        self.until("the killed app's exit", 10, lambda: state_of(self.pid) in ("Z", "gone"))
        self.stop_driver()
        self.until(f"the killed app's webview processes {webview} ending", 20,
                   lambda: all(state_of(p) in ("Z", "gone") for p in webview))

    def quit(self):
        try:
            self.driver.s("DELETE", "")
        except Exception:  # the app may already be gone; the driver is stopped below
            pass
        self.stop_driver()

    def stop_driver(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def children(pid):
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return found


def descendants(pid):
    out, todo = [], children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(children(child))
    return out


def state_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


class Peak:
    """The largest memory sample seen while sampling."""

    def __init__(self, app):
        self.app, self.rss, self.pss, self.samples = app, 0, 0, 0

    def sample(self):
        rss, pss = self.app.memory()
        self.rss, self.pss, self.samples = max(self.rss, rss), max(self.pss, pss), self.samples + 1


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def to_plan(app, artifacts=None):
    """From the Demo cluster's card through Preflight to the Plan (screenshot plan.png when
    `artifacts` is given)."""
    app.click(app.xfind(button("Install packs"), app.find(CARD)))
    app.click(app.wait_css('[data-preset="vm-dashboard-direct"] input', 30))
    app.wait_css('[data-pack="kubevirt"]', 30)
    for label in ["Feature gates", "Values", "Save profile", "Clusters"]:
        app.next_step(label)
    app.until("the Demo cluster chosen as the target", 30, lambda: app.js(
        "const i = document.querySelector(arguments[0]); return !!(i && i.checked);",
        f'[data-target="{DEMO}"] input'))
    app.next_step("Preflight")
    preflight = f'[data-preflight="{DEMO}"]'
    kvm = app.wait_css(f'{preflight} [data-check="kvm"][data-verdict]', 60)
    check(app.attr(kvm, "data-verdict") == "pass", "the kvm check did not pass")
    check(app.find(f'{preflight} [data-verdict="fail"]') is None, "a preflight check failed")
    # The one warning: no VolumeSnapshotClass for the disks' CSI driver; its fix has the snapshot
    # pack create one, and the check passes on the preflight that follows.
    snapshot_class = f'{preflight} [data-check="snapshot_class"]'
    app.wait_css(f'{snapshot_class}[data-verdict="warn"]', 60)
    app.click(app.wait_xpath("//button[starts-with(normalize-space(), 'create a VolumeSnapshotClass')]", 30,
                             app.find(snapshot_class)))
    app.wait_css(f'{snapshot_class}[data-verdict="pass"]', 60)
    check(app.find(f'{preflight} [data-verdict="warn"]') is None, "a preflight check still warns")
    app.next_step("Plan")
    plan = f'[data-plan="{DEMO}"]'
    for pack in ["kubevirt", "vm-dashboard"]:
        counts = app.wait_css(f'{plan} [data-pack-counts="{pack}"] [data-count="create"]', 120)
        check(app.text(counts) not in ("", "0"), f"the plan creates nothing for {pack}")
    if artifacts:
        app.screenshot(os.path.join(artifacts, "plan.png"))
    app.next_step("Install")


def start_install(app):
    app.click(app.wait_xpath(button("Install"), 30))
    return time.monotonic()


def main():
    binary, artifacts, mirror = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
    check(os.path.isdir(mirror), f"no upstream mirror at {mirror}")
    os.makedirs(artifacts, exist_ok=True)
    home = tempfile.mkdtemp(prefix="vmdeck-webdriver-")
    env = dict(throwaway_env(home), VMDECK_MIRROR=mirror)
    demo_folder = f"{home}/.local/share/vmdeck/demo"
    app = None
    try:
        # 1. Install, killed mid-way.
        app = App(binary, ["--demo", "--reset-demo"], env)
        app.wait_css(f'{CARD} [data-status="connected"]', 60)
        check(app.find(BANNER) is None, "a resume banner on a fresh demo")
        idle = app.memory()
        to_plan(app, artifacts)
        start_install(app)
        peak = Peak(app)
        app.until("a pack waiting to become ready", 120,
                  lambda: any(s == "waiting" for _, s in (app.run_state(RUN) or {"packs": []})["packs"]),
                  peak.sample)
        app.screenshot(os.path.join(artifacts, "install.png"))

        def mid_install():
            run = app.run_state(RUN)
            states = [s for _, s in run["packs"]]
            check(run["state"] == "running", f"the install ended before it could be killed: {run}")
            return run if "ready" in states and any(s != "ready" for s in states) else None

        cut = app.until("one pack Ready while another is not", 240, mid_install, peak.sample)
        app.kill()
        app = None
        ready_before = sorted(n for n, s in cut["packs"] if s == "ready")
        all_packs = sorted(n for n, _ in cut["packs"])
        print(f"webdriver-install: killed the app mid-install (SIGKILL); ready then: {ready_before} of {all_packs}")
        check(os.path.isfile(f"{demo_folder}/simcluster-state.json"), "no simulated cluster state in the demo folder")
        check(os.listdir(f"{demo_folder}/data/runs"), "no run journal in the demo folder")

        # 2. Started again: the banner resumes the run to Ready; every pack healthy.
        app = App(binary, ["--demo"], env)
        banner = app.wait_css(BANNER, 60)
        text = app.text(banner)
        check(f"An install on {DEMO} did not finish" in text, f"banner: {text!r}")
        check("cut short" in text, f"the banner does not say the run was cut short: {text!r}")
        app.click(app.xfind(button("Resume"), banner))
        resumed_at = time.monotonic()
        resumed = app.until("the resumed run done", 300,
                            lambda: (lambda r: r if r and r["state"] != "running" else None)(app.run_state(BANNER)))
        resume_seconds = time.monotonic() - resumed_at
        check(resumed["state"] == "done", f"the resumed run ended {resumed}")
        check(sorted(n for n, _ in resumed["packs"]) == all_packs, f"resumed packs {resumed['packs']} vs {all_packs}")
        check(all(s == "ready" for _, s in resumed["packs"]), f"not every pack Ready: {resumed['packs']}")
        app.click(app.xfind(button(f"Open {DEMO}"), app.find(BANNER)))
        app.wait_css(f'{INSTALLED} [data-testid="all-healthy"]', 60)
        rows = app.js(f"return [...document.querySelectorAll('{INSTALLED} [data-installed]')]"
                      ".map((r) => [r.getAttribute('data-installed'), r.getAttribute('data-healthy')]);")
        check(sorted(n for n, _ in rows) == all_packs, f"Installed view lists {rows}, installed {all_packs}")
        check(all(h == "true" for _, h in rows), f"not every pack healthy: {rows}")
        app.screenshot(os.path.join(artifacts, "installed.png"))
        print(f"webdriver-install: resumed to Ready in {resume_seconds:.1f} s; Installed view: {len(rows)} packs healthy")
        app.quit()
        app = None

        # 3. Reset: a fresh Demo cluster, installed to Ready without interruption.
        app = App(binary, ["--demo", "--reset-demo"], env)
        app.wait_css(f'{CARD} [data-status="connected"]', 60)
        check(app.find(BANNER) is None, "the reset demo still offers to resume")
        runs = f"{demo_folder}/data/runs"
        check(not os.path.isdir(runs) or not os.listdir(runs), "the reset demo kept its run journal")
        idle_fresh = app.memory()
        to_plan(app)
        peak_fresh = Peak(app)
        started = start_install(app)
        done = app.until("the install done", 300,
                         lambda: (lambda r: r if r and r["state"] != "running" else None)(app.run_state(RUN)),
                         peak_fresh.sample)
        ready_seconds = time.monotonic() - started
        check(done["state"] == "done", f"the install ended {done}")
        check(all(s == "ready" for _, s in done["packs"]), f"not every pack Ready: {done['packs']}")
        after = app.memory()

        print(f"webdriver-install: demo install (vm-dashboard-direct, {len(done['packs'])} packs) "
              f"time to Ready {ready_seconds:.1f} s (simcluster demo: each workload ready after 1-3 s)")
        print(f"webdriver-install: memory (app + webview processes), RSS / PSS:")
        print(f"  idle, first start:        {mib(idle[0])} / {mib(idle[1])}")
        print(f"  during install (peak of {peak.samples} samples): {mib(peak.rss)} / {mib(peak.pss)}")
        print(f"  idle, after reset:        {mib(idle_fresh[0])} / {mib(idle_fresh[1])}")
        print(f"  during install (peak of {peak_fresh.samples} samples): {mib(peak_fresh.rss)} / {mib(peak_fresh.pss)}")
        print(f"  right after Ready:        {mib(after[0])} / {mib(after[1])}")
        # The VMs the install made appear, and their consoles, in this same app.
        check_consoles(app, artifacts)
        app.quit()
        app = None
        print("webdriver-install: install, kill, restart, Resume, Ready, healthy; reset demo installed to Ready; "
              "VMs, VNC boot screen and serial login")
    finally:
        if app:
            app.quit()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except (CheckFailed, TimeoutError, RuntimeError) as err:
        print(f"webdriver-install: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
