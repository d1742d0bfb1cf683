//! A tiny text terminal drawn on the framebuffer: 8x16 cells, carriage return, line feed with
//! scrolling (logged as moves), backspace, `ESC [ H` / `ESC [ 2 J`, UTF-8 text, and an
//! underline cursor.

use crate::consoles::display::Display;
use crate::consoles::font;
use crate::consoles::framebuffer::{Rect, TextStyle};

pub const CELL_W: usize = 8;
pub const CELL_H: usize = 16;
pub const FG: u32 = 0x00c8_c8c8;
pub const BG: u32 = 0x0000_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Started,
    Csi,
}

/// A grid of characters occupying `area` of the display.
#[derive(Debug, Clone)]
pub struct Terminal {
    area: Rect,
    cols: usize,
    rows: usize,
    cells: Vec<char>,
    /// The bytes of a UTF-8 sequence still being received.
    utf8: Vec<u8>,
    row: usize,
    col: usize,
    escape: Escape,
    params: String,
}

impl Terminal {
    /// A terminal over `area` (whole cells only), cleared on `display`.
    pub fn new(area: Rect, display: &mut Display) -> Self {
        let cols = (area.w / CELL_W).max(1);
        let rows = (area.h / CELL_H).max(1);
        display.fb.fill(area, BG);
        let terminal = Self {
            area: Rect::new(area.x, area.y, cols * CELL_W, rows * CELL_H),
            cols,
            rows,
            cells: vec![' '; cols * rows],
            utf8: Vec::new(),
            row: 0,
            col: 0,
            escape: Escape::None,
            params: String::new(),
        };
        terminal.draw_cursor(display, true);
        terminal
    }

    /// Where the cursor is: (row, column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// The text on screen, one line per row, trailing blanks trimmed.
    pub fn text(&self) -> String {
        self.cells
            .chunks(self.cols)
            .map(|row| row.iter().collect::<String>().trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Write output bytes.
    pub fn write(&mut self, display: &mut Display, bytes: &[u8]) {
        self.draw_cursor(display, false);
        for &byte in bytes {
            self.byte(display, byte);
        }
        self.draw_cursor(display, true);
    }

    fn byte(&mut self, display: &mut Display, byte: u8) {
        match self.escape {
            Escape::Started => {
                self.escape = if byte == b'[' {
                    Escape::Csi
                } else {
                    Escape::None
                };
                self.params.clear();
                return;
            }
            Escape::Csi => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                    match (byte, self.params.as_str()) {
                        (b'H', _) => (self.row, self.col) = (0, 0),
                        (b'J', "2") => self.clear(display),
                        _ => {}
                    }
                } else if self.params.len() < 16 {
                    self.params.push(byte as char);
                }
                return;
            }
            Escape::None => {}
        }
        if byte < 0x80 {
            self.utf8.clear();
        }
        match byte {
            0x1b => self.escape = Escape::Started,
            b'\r' => self.col = 0,
            b'\n' => self.line_feed(display),
            0x08 => self.col = self.col.saturating_sub(1),
            0x20..=0x7e => self.put(display, char::from(byte)),
            0x80..=0xff => {
                self.utf8.push(byte);
                match std::str::from_utf8(&self.utf8) {
                    Ok(text) => {
                        let c = text.chars().next().unwrap_or('?');
                        self.utf8.clear();
                        self.put(display, c);
                    }
                    Err(e) if e.error_len().is_some() || self.utf8.len() >= 4 => {
                        self.utf8.clear();
                        self.put(display, char::REPLACEMENT_CHARACTER);
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }

    fn put(&mut self, display: &mut Display, c: char) {
        if self.col >= self.cols {
            self.col = 0;
            self.line_feed(display);
        }
        self.cells[self.row * self.cols + self.col] = c;
        self.draw_cell(display, self.row, self.col);
        self.col += 1;
    }

    fn line_feed(&mut self, display: &mut Display) {
        if self.row + 1 < self.rows {
            self.row += 1;
            return;
        }
        let src = Rect::new(
            self.area.x,
            self.area.y + CELL_H,
            self.area.w,
            self.area.h - CELL_H,
        );
        display.move_rect(src, self.area.x, self.area.y);
        self.cells.copy_within(self.cols.., 0);
        let last = (self.rows - 1) * self.cols;
        self.cells[last..].fill(' ');
        display.fb.fill(
            Rect::new(
                self.area.x,
                self.area.y + (self.rows - 1) * CELL_H,
                self.area.w,
                CELL_H,
            ),
            BG,
        );
    }

    fn clear(&mut self, display: &mut Display) {
        self.cells.fill(' ');
        display.fb.fill(self.area, BG);
    }

    fn cell_origin(&self, row: usize, col: usize) -> (usize, usize) {
        (self.area.x + col * CELL_W, self.area.y + row * CELL_H)
    }

    fn draw_cell(&self, display: &mut Display, row: usize, col: usize) {
        let (x, y) = self.cell_origin(row, col);
        let style = TextStyle {
            fg: FG,
            bg: Some(BG),
            scale_x: CELL_W / font::WIDTH,
            scale_y: CELL_H / font::HEIGHT,
        };
        display
            .fb
            .draw_glyph(x, y, self.cells[row * self.cols + col], style);
    }

    fn draw_cursor(&self, display: &mut Display, visible: bool) {
        let col = self.col.min(self.cols - 1);
        if visible {
            let (x, y) = self.cell_origin(self.row, col);
            display.fb.fill(Rect::new(x, y + CELL_H - 2, CELL_W, 2), FG);
        } else {
            self.draw_cell(display, self.row, col);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consoles::framebuffer::Framebuffer;

    #[test]
    fn writes_wrap_and_scroll_with_a_logged_move() {
        let mut display = Display::new(Framebuffer::new(32, 32, 0));
        let mut terminal = Terminal::new(Rect::new(0, 0, 32, 32), &mut display);
        terminal.write(&mut display, b"abcdef\r\nxy");
        assert_eq!(terminal.text(), "ef\nxy");
        assert_eq!(
            display.seq(),
            1,
            "the third line scrolled the two-row terminal"
        );
        assert_eq!(terminal.cursor(), (1, 2));
        terminal.write(&mut display, b"\x08z\x1b[2J");
        assert_eq!(terminal.text().trim(), "");
        terminal.write(&mut display, "\x1b[H\u{fc}\u{20ac}".as_bytes());
        assert_eq!(terminal.text().lines().next(), Some("\u{fc}\u{20ac}"));
    }
}
