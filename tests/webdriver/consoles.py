"""The VMs screen and the consoles in the real app, on the Demo cluster once the install made its
VMs appear (install.py calls `check_consoles` on the installed app, so no second install runs):
the VMs screen lists running VMs; a VNC console connects and a screenshot of its canvas shows the
simulated guest's boot screen (the banner's colour in a known region, light console text on
black below it; screenshot vnc.png); the serial console connects and shows the login prompt
(screenshot serial.png). Every check raises CheckFailed."""

import base64
import os
import struct
import time
import zlib

from demo import CheckFailed, check

DEMO = "Demo cluster"
VMS = f'[data-vms-view="{DEMO}"]'
RUNNING = f'{VMS} tr[data-vm][data-status="Running"]'
STATUS = '[data-testid="console-status"]'
# The simulated guest's banner background (simcluster's screen.rs) and console colours.
BANNER = (0x1F, 0x3A, 0x5F)
TEXT = (0xC8, 0xC8, 0xC8)
BLACK = (0, 0, 0)

CANVAS_COLOURS_JS = """
const canvas = document.querySelector('[data-testid="vnc-screen"] canvas');
if (!canvas || canvas.width === 0) return 0;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const seen = new Set();
for (let i = 0; i < data.length; i += 4) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
return seen.size;
"""


def decode_png(data):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    check(depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG format {header}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        previous = line
    return width, height, rows


def near(pixel, colour, tolerance=8):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def region(rows, width, height, x0, x1, y0, y1):
    """The pixels of a region given in fractions of the image."""
    return [rows[y][x] for y in range(int(y0 * height), int(y1 * height))
            for x in range(int(x0 * width), int(x1 * width))]


def check_boot_screen(png):
    """The guest's boot screen, scaled to the window: the banner's right part (no text there for
    the demo's VM names) is the banner colour; the console under it is black with light text."""
    width, height, rows = decode_png(png)
    check(width > 200 and height > 150, f"the VNC canvas screenshot is {width}x{height}")
    banner = region(rows, width, height, 0.80, 0.95, 0.02, 0.09)
    off = [p for p in banner if not near(p, BANNER)]
    check(not off, f"{len(off)} of {len(banner)} banner pixels are not #1f3a5f (first {off[:3]})")
    console = region(rows, width, height, 0.02, 0.60, 0.17, 0.45)
    dark = sum(1 for p in console if near(p, BLACK))
    light = sum(1 for p in console if near(p, TEXT, 40))
    check(dark > len(console) * 0.6, f"the console area is not black ({dark} of {len(console)} pixels)")
    check(light > 200, f"no console text under the banner ({light} light pixels)")
    return width, height


def check_consoles(app, artifacts):
    """From the Clusters screen: the Demo cluster's VMs, a VNC console, then the serial one."""
    started = time.monotonic()
    app.click(app.wait_xpath("//button[normalize-space()='Clusters']", 30))
    card = app.wait_css(f'[data-cluster="{DEMO}"]', 30)
    app.click(app.xfind("//button[normalize-space()='VMs']", card))
    row = app.wait_css(RUNNING, 120)
    vm = app.attr(row, "data-vm")
    count = app.js(f"return document.querySelectorAll('{VMS} tr[data-vm]').length;")
    print(f"webdriver-consoles: VMs screen lists {count} VMs; opening {vm}")
    app.click(app.xfind("//button[starts-with(normalize-space(), 'VNC')]", row))
    app.wait_css(f'{STATUS}[data-phase="connected"]', 60)
    app.until("the guest's screen drawn", 30, lambda: app.js(CANVAS_COLOURS_JS) > 1)
    app.driver.s("POST", "/execute/async", {"script": "const done = arguments[0];"
                 "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": []})
    canvas = app.find('[data-testid="vnc-screen"] canvas')
    png = base64.b64decode(app.driver.s("GET", f"/element/{canvas}/screenshot"))
    with open(os.path.join(artifacts, "vnc-canvas.png"), "wb") as f:
        f.write(png)
    width, height = check_boot_screen(png)
    app.screenshot(os.path.join(artifacts, "vnc.png"))
    print(f"webdriver-consoles: VNC of {vm} connected; its {width}x{height} screenshot shows the boot screen")

    app.click(app.xfind("//div[@aria-label='Console']//button[normalize-space()='Serial']"))
    app.wait_css(f'[data-console="serial"] {STATUS}[data-phase="connected"]', 60)
    terminal = app.wait_css('[data-testid="serial-screen"] textarea', 30)
    app.driver.s("POST", f"/element/{terminal}/value", {"text": "\ue007"})  # Enter
    name = vm.split("/", 1)[1]
    app.until(f"'{name} login:' on the serial console", 30, lambda: f"{name} login:" in app.js(
        "const rows = document.querySelector('[data-testid=\"serial-screen\"] .xterm-rows');"
        "return rows ? rows.textContent : '';"))
    app.screenshot(os.path.join(artifacts, "serial.png"))
    print(f"webdriver-consoles: serial console of {vm} shows '{name} login:' "
          f"({time.monotonic() - started:.1f} s for VMs, VNC and serial)")


__all__ = ["check_consoles", "check_boot_screen", "decode_png", "CheckFailed"]
