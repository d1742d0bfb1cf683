#!/usr/bin/env python3
"""Benchmarks of the real app (WebKitGTK) through WebKitWebDriver; prints figures, never fails on
them. Against a running simcluster (its admin kubeconfig) with a VM in `vnc-bench` mode:
(b) noVNC frames per second and CPU per frame (the app's whole process tree) in a console
    window (hardware acceleration off) and, for comparison, in the main window (WebKitGTK's
    default policy);
(d) memory (RSS and PSS of the app and its WebKit processes): idle on the Clusters screen,
    then with four console windows open (VNC).
Usage: bench_app.py BINARY KUBECONFIG BENCH_VM(ns/name) SECONDS OUT.json
Run under a display (scripts/bench-ui.sh wraps it in xvfb-run + dbus-run-session)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo import WebDriver, free_port, throwaway_env, wait_port  # noqa: E402

CONNECTED = '[data-testid="console-status"][data-phase="connected"]'

FRAMES_JS = """
const [ms, done] = arguments;
const canvas = document.querySelector('[data-testid="vnc-screen"] canvas');
const ctx = canvas && canvas.getContext('2d');
if (!ctx) { done({error: 'no noVNC canvas'}); return; }
let last = -1, frames = 0, gaps = 0, lastChange = performance.now();
const started = performance.now();
const tick = (now) => {
  const d = ctx.getImageData(1, 1, 1, 1).data;
  const value = (d[0] << 16) | (d[1] << 8) | d[2];
  if (value !== last) {
    if (last !== -1) { frames++; if (now - lastChange > 50) gaps++; }
    last = value; lastChange = now;
  }
  if (now - started < ms) requestAnimationFrame(tick);
  else done({frames, seconds: (performance.now() - started) / 1000, gaps});
};
requestAnimationFrame(tick);
"""

INVOKE_JS = """
const [name, request, done] = arguments;
window.__TAURI_INTERNALS__.invoke(name, {request}).then((v) => done({ok: v}), (e) => done({error: e}));
"""


def route(kind, cluster, namespace, name):
    return "/".join(["console", kind] + [urllib.parse.quote(p, safe="") for p in (cluster, namespace, name)])


def tree(marker):
    """The app's processes: those whose environment holds `marker`, and their descendants, but
    not WebKitWebDriver itself."""
    parents, chosen = {}, set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            parents[pid] = int(stat[stat.rindex(")") + 2:].split()[1])
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read().split(b"\0"):
                    chosen.add(pid)
        except OSError:
            pass
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if pid not in chosen and ppid in chosen:
                chosen.add(pid)
                grew = True
    return {pid for pid in chosen if comm(pid) != "WebKitWebDriver"}


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def memory_mb(pids):
    """(RSS, PSS) in MB of the processes."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


def web_processes(pids):
    return [comm(pid) for pid in pids]


class App:
    def __init__(self, driver, marker):
        self.driver = driver
        self.marker = marker

    def run(self, script, *args):
        return self.driver.s("POST", "/execute/async", {"script": script, "args": list(args)})

    def invoke(self, name, request):
        answer = self.run(INVOKE_JS, name, request)
        if "error" in answer:
            raise RuntimeError(f"{name}: {answer['error']}")
        return answer["ok"]

    def wait_connected(self, seconds=60):
        self.driver.wait_for(CONNECTED, seconds)

    def fps(self, seconds):
        self.run(FRAMES_JS, 2000)  # warm up
        pids = tree(self.marker)
        before = cpu_seconds(pids)
        run = self.run(FRAMES_JS, seconds * 1000)
        if "error" in run:
            raise RuntimeError(run["error"])
        cpu = cpu_seconds(tree(self.marker)) - before
        fps = run["frames"] / run["seconds"]
        return fps, cpu / max(1, run["frames"]) * 1000, run["gaps"]


def main():
    binary, kubeconfig, bench_vm, seconds, out = sys.argv[1:6]
    seconds = float(seconds)
    bench_ns, bench_name = bench_vm.split("/")
    with open(kubeconfig) as f:
        kubeconfig_text = f.read()
    port = free_port()
    home = tempfile.mkdtemp(prefix="vmdeck-bench-app-")
    marker = f"VMDECK_BENCH_MARK={home}"
    env = throwaway_env(home)
    env["VMDECK_BENCH_MARK"] = home
    driver_proc = subprocess.Popen(["WebKitWebDriver", f"--port={port}"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = WebDriver(port)
    figures = {}
    try:
        wait_port(port)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "webkitgtk:browserOptions": {"binary": binary, "args": ["--session-only"]},
        }}}
        driver.session = driver.request("POST", "/session", caps)["sessionId"]
        app = App(driver, marker)
        driver.wait_for(".app-header", 60)
        main_window = driver.s("GET", "/window")
        app.invoke("import_clusters", {"source": {"kind": "text", "text": kubeconfig_text},
                                       "choices": [{"context": "admin", "name": "lab"}],
                                       "overwrite": False, "replace": []})
        driver.s("POST", "/url", {"url": driver.s("GET", "/url").split("#")[0]})
        driver.wait_for('[data-cluster="lab"]', 60)
        time.sleep(3)
        idle = memory_mb(tree(marker))
        processes = web_processes(tree(marker))
        print(f"app memory idle (Clusters screen; {len(processes)} processes: {', '.join(sorted(set(processes)))}): "
              f"RSS {idle[0]:.0f} MB, PSS {idle[1]:.0f} MB")
        figures["idle_rss_mb"], figures["idle_pss_mb"] = idle

        # (b) the main window at the console route: WebKitGTK's default acceleration policy.
        base = driver.s("GET", "/url").split("#")[0]
        bench_route = route("vnc", "lab", bench_ns, bench_name)
        driver.s("POST", "/url", {"url": f"{base}#{bench_route}"})
        driver.s("POST", "/refresh", {})
        app.wait_connected()
        fps, cpu, gaps = app.fps(seconds)
        print(f"noVNC in the app's main window (WebKitGTK, default acceleration policy): {fps:.1f} fps, "
              f"CPU {cpu:.1f} ms per frame (app tree), {gaps} gaps over 50 ms")
        figures["webkit_default_fps"], figures["webkit_default_cpu_ms_per_frame"] = fps, cpu
        driver.s("POST", "/url", {"url": base})
        driver.s("POST", "/refresh", {})
        driver.wait_for('[data-cluster="lab"]', 60)
        time.sleep(2)  # the main window's console session closes before the window's opens

        # (b) a console window: hardware acceleration off.
        app.invoke("open_console_window", {"route": bench_route, "title": "bench"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            handles = driver.s("GET", "/window/handles")
            if len(handles) > 1:
                break
            time.sleep(0.2)
        console = next(h for h in handles if h != main_window)
        driver.s("POST", "/window", {"handle": console})
        app.wait_connected()
        fps, cpu, gaps = app.fps(seconds)
        print(f"noVNC in a console window (WebKitGTK, hardware acceleration off): {fps:.1f} fps, "
              f"CPU {cpu:.1f} ms per frame (app tree), {gaps} gaps over 50 ms")
        figures["webkit_window_fps"], figures["webkit_window_cpu_ms_per_frame"] = fps, cpu
        driver.s("DELETE", "/window")
        driver.s("POST", "/window", {"handle": main_window})
        time.sleep(2)

        # (d) four console windows (VNC on four running VMs other than the bench one).
        vms = json.loads(subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, "get", "vmi", "-A", "-o", "json"],
            check=True, capture_output=True, text=True).stdout)["items"]
        targets = [(v["metadata"]["namespace"], v["metadata"]["name"]) for v in vms
                   if v.get("status", {}).get("phase") == "Running"
                   and (v["metadata"]["namespace"], v["metadata"]["name"]) != (bench_ns, bench_name)][:4]
        if len(targets) < 4:
            raise RuntimeError(f"only {len(targets)} running VMs besides the bench one")
        for ns, name in targets:
            app.invoke("open_console_window", {"route": route("vnc", "lab", ns, name), "title": name})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            handles = driver.s("GET", "/window/handles")
            if len(handles) >= 5:
                break
            time.sleep(0.2)
        for handle in handles:
            if handle != main_window:
                driver.s("POST", "/window", {"handle": handle})
                app.wait_connected()
        time.sleep(3)
        four = memory_mb(tree(marker))
        processes = web_processes(tree(marker))
        print(f"app memory with four VNC console windows ({len(processes)} processes): RSS {four[0]:.0f} MB "
              f"(+{four[0] - idle[0]:.0f}), PSS {four[1]:.0f} MB (+{four[1] - idle[1]:.0f})")
        figures["four_rss_mb"], figures["four_pss_mb"] = four
        with open(out, "w") as f:
            json.dump(figures, f)
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
    except (TimeoutError, RuntimeError, StopIteration) as err:
        print(f"bench-app: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
