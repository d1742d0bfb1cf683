//! The simulated guest's VGA screen: a banner naming the VM, boot messages and a text console
//! whose tty runs the guest shell, so typed keys appear on screen. Shared by every VNC session
//! of one VMI and by its screenshots; sessions are told about changes through a watch channel.

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::consoles::display::Display;
use crate::consoles::framebuffer::{Framebuffer, Rect, TextStyle};
use crate::consoles::shell::{KERNEL_RELEASE, Shell};
use crate::consoles::terminal::Terminal;

pub const WIDTH: usize = 1024;
pub const HEIGHT: usize = 768;
const BANNER_H: usize = 112;
const BANNER_BG: u32 = 0x001f_3a5f;

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
        let area = Rect::new(8, BANNER_H + 8, WIDTH - 16, HEIGHT - BANNER_H - 8);
        let mut terminal = Terminal::new(area, &mut display);
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
}
