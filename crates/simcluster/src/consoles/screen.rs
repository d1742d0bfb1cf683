//! The simulated guest's VGA screen: a banner naming the VM, boot messages and a text console
//! whose tty runs the guest shell, so typed keys appear on screen. Shared by every VNC session
//! of one VMI and by its screenshots; sessions are told about changes through a watch channel.
//! [`read_console`] reads the console's text back from a frame's pixels (for tests).

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::consoles::display::Display;
use crate::consoles::font;
use crate::consoles::framebuffer::{Framebuffer, Rect, TextStyle};
use crate::consoles::shell::{KERNEL_RELEASE, Shell};
use crate::consoles::terminal::{self, CELL_H, CELL_W, Terminal};

pub const WIDTH: usize = 1024;
pub const HEIGHT: usize = 768;
const BANNER_H: usize = 112;
const BANNER_BG: u32 = 0x001f_3a5f;
/// Where the text console is drawn.
const CONSOLE_AREA: Rect = Rect::new(8, BANNER_H + 8, WIDTH - 16, HEIGHT - BANNER_H - 8);

struct Inner {
    display: Display,
    terminal: Terminal,
    shell: Shell,
}

/// One VMI's screen.
pub struct Screen {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Screen {
    /// A screen that has just booted `namespace/name` to its login prompt.
    pub fn boot(namespace: &str, name: &str) -> Self {
        let mut display = Display::new(Framebuffer::new(WIDTH, HEIGHT, 0));
        draw_banner(&mut display.fb, namespace, name);
        let mut terminal = Terminal::new(CONSOLE_AREA, &mut display);
        let shell = Shell::new(name);
        let boot = format!(
            "SeaBIOS (simulated by simcluster)\r\nBooting from Hard Disk...\r\n\
             [    0.000000] Linux version {KERNEL_RELEASE} (simcluster) #1 SMP PREEMPT_DYNAMIC\r\n\
             [    0.412345] Run /sbin/init as init process\r\n\r\n\
             Welcome to Debian GNU/Linux 12 (bookworm)!\r\n\r\n\
             Debian GNU/Linux 12 {name} tty1\r\n"
        );
        terminal.write(&mut display, boot.as_bytes());
        terminal.write(&mut display, &shell.redraw());
        let (changed, _) = watch::channel(0);
        Self {
            inner: Mutex::new(Inner {
                display,
                terminal,
                shell,
            }),
            changed,
        }
    }

    /// Keys typed at the console (bytes as a terminal sends them).
    pub fn type_bytes(&self, bytes: &[u8]) {
        {
            let mut inner = self.inner.lock();
            let Inner {
                display,
                terminal,
                shell,
            } = &mut *inner;
            let output = shell.input(bytes);
            if output.is_empty() {
                return;
            }
            terminal.write(display, &output);
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// A line the guest prints on its console for a key combination it handled (the shell's
    /// prompt and pending input are redrawn under it).
    pub fn show_line(&self, line: &str) {
        {
            let mut inner = self.inner.lock();
            let Inner {
                display,
                terminal,
                shell,
            } = &mut *inner;
            terminal.write(display, format!("\r\n{line}").as_bytes());
            terminal.write(display, &shell.redraw());
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// Told after every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Look at the display under the screen's lock (keep it short).
    pub fn with_display<R>(&self, f: impl FnOnce(&Display) -> R) -> R {
        f(&self.inner.lock().display)
    }

    /// The console's text (for logs and tests).
    pub fn text(&self) -> String {
        self.inner.lock().terminal.text()
    }

    /// The current frame as PNG.
    pub fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let fb = self.inner.lock().display.fb.clone();
        fb.to_png()
    }
}

/// The console's text as `frame` shows it (the RFB client's frame or a screenshot, 1024x768):
/// each 8x16 cell matched against the font's glyphs (ASCII before Latin-1), one line per row,
/// trailing blanks trimmed. A cell that is no glyph reads as U+FFFD; an underline alone reads
/// as a blank (the cursor; the font's `_` looks the same, so it cannot be read back).
pub fn read_console(frame: &Framebuffer) -> String {
    let mut glyphs: Vec<(char, [u8; 8])> = Vec::new();
    for c in (' '..='~').chain('\u{a0}'..='\u{ff}').chain(['€']) {
        if c != '_' {
            glyphs.push((c, font::glyph(c)));
        }
    }
    let cols = CONSOLE_AREA.w / CELL_W;
    let rows = CONSOLE_AREA.h / CELL_H;
    let mut lines = Vec::with_capacity(rows);
    for row in 0..rows {
        let mut line = String::with_capacity(cols);
        for col in 0..cols {
            let (x, y) = (CONSOLE_AREA.x + col * CELL_W, CONSOLE_AREA.y + row * CELL_H);
            line.push(read_cell(frame, x, y, &glyphs));
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

/// The glyph drawn in the cell at (`x`, `y`): font rows are two pixel rows each; the last font
/// row is left out of the match when it is a full line (the cursor's underline).
fn read_cell(frame: &Framebuffer, x: usize, y: usize, glyphs: &[(char, [u8; 8])]) -> char {
    let scale_y = CELL_H / font::HEIGHT;
    let mut rows = [0u8; 8];
    for (gy, bits) in rows.iter_mut().enumerate() {
        for sy in 0..scale_y {
            let mut row = 0u8;
            for gx in 0..font::WIDTH {
                match frame.pixel(x + gx, y + gy * scale_y + sy) & 0x00ff_ffff {
                    terminal::FG => row |= 1 << gx,
                    terminal::BG => {}
                    _ => return char::REPLACEMENT_CHARACTER,
                }
            }
            if sy == 0 {
                *bits = row;
            } else if row != *bits {
                return char::REPLACEMENT_CHARACTER;
            }
        }
    }
    let underlined = rows[7] == 0xff;
    glyphs
        .iter()
        .find(|(_, glyph)| {
            glyph[..7] == rows[..7] && (glyph[7] == rows[7] || (underlined && glyph[7] == 0))
        })
        .map_or(char::REPLACEMENT_CHARACTER, |(c, _)| *c)
}

fn draw_banner(fb: &mut Framebuffer, namespace: &str, name: &str) {
    fb.fill(Rect::new(0, 0, WIDTH, BANNER_H), BANNER_BG);
    let small = TextStyle {
        fg: 0x00a8_c8e8,
        bg: None,
        scale_x: 1,
        scale_y: 2,
    };
    let large = TextStyle {
        fg: 0x00ff_ffff,
        bg: None,
        scale_x: 4,
        scale_y: 4,
    };
    fb.draw_text(
        16,
        8,
        "VMDeck simcluster - KubeVirt VirtualMachineInstance console",
        small,
    );
    let fitting: String = name.chars().take((WIDTH - 32) / 32).collect();
    fb.draw_text(16, 34, &fitting, large);
    fb.draw_text(16, 76, &format!("namespace: {namespace}"), small);
    fb.fill(Rect::new(0, BANNER_H - 4, WIDTH, 4), 0x0041_8fde);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boots_to_a_login_prompt_and_shows_typed_keys() {
        let screen = Screen::boot("default", "vm1");
        assert!(screen.text().contains("vm1 login:"));
        let before = screen.with_display(|d| d.fb.clone());
        let changes = screen.subscribe();
        screen.type_bytes(b"root");
        assert!(changes.has_changed().unwrap());
        assert!(screen.text().contains("vm1 login: root"));
        let after = screen.with_display(|d| d.fb.clone());
        assert!(after.differs(&before, after.bounds()));
        assert!(!after.differs(&before, Rect::new(0, 0, WIDTH, BANNER_H)));
    }

    #[test]
    fn the_console_text_reads_back_from_the_frame_and_its_png() {
        let screen = Screen::boot("dev", "web-01");
        screen.type_bytes("Grüße, Welt! @€ {[]}".as_bytes());
        screen.show_line("Ctrl+Alt+Del");
        let frame = screen.with_display(|d| d.fb.clone());
        let read = read_console(&frame);
        // The boot line's `_` (PREEMPT_DYNAMIC) reads as a blank, like the cursor.
        assert_eq!(read, screen.text().replace('_', " "));
        assert!(
            read.contains("web-01 login: Grüße, Welt! @€ {[]}"),
            "{read}"
        );
        assert!(read.contains("\nCtrl+Alt+Del\n"), "{read}");
        let png = Framebuffer::from_png(&screen.png().unwrap()).unwrap();
        assert_eq!(read_console(&png), read);
        // A changed pixel in a glyph makes it unreadable, not another character.
        let mut broken = frame.clone();
        broken.fill(Rect::new(8, BANNER_H + 8, 1, 1), 0x00ff_0000);
        assert!(read_console(&broken).starts_with('\u{fffd}'));
    }
}
