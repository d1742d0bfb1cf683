//! A true-colour framebuffer (one `0x00RRGGBB` word per pixel) with rectangles, text drawn from
//! the 8x8 bitmap font, rectangle moves and PNG export.

use crate::consoles::font;

/// A rectangle in framebuffer coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl Rect {
    pub const fn new(x: usize, y: usize, w: usize, h: usize) -> Self {
        Self { x, y, w, h }
    }

    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// The part of `self` inside `other` (possibly empty).
    pub fn intersect(&self, other: &Rect) -> Rect {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        if x1 <= x0 || y1 <= y0 {
            Rect::new(x0, y0, 0, 0)
        } else {
            Rect::new(x0, y0, x1 - x0, y1 - y0)
        }
    }
}

/// How text is drawn: colours and the size of one font pixel.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub fg: u32,
    pub bg: Option<u32>,
    pub scale_x: usize,
    pub scale_y: usize,
}

/// Pixels, row after row.
#[derive(Clone, PartialEq, Eq)]
pub struct Framebuffer {
    width: usize,
    height: usize,
    pixels: Vec<u32>,
}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Framebuffer({}x{})", self.width, self.height)
    }
}

impl Framebuffer {
    pub fn new(width: usize, height: usize, colour: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![colour; width * height],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    pub fn pixel(&self, x: usize, y: usize) -> u32 {
        self.pixels[y * self.width + x]
    }

    /// `w` pixels of row `y` from column `x` (the caller keeps inside the bounds).
    pub fn row(&self, x: usize, y: usize, w: usize) -> &[u32] {
        let start = y * self.width + x;
        &self.pixels[start..start + w]
    }

    pub fn fill(&mut self, rect: Rect, colour: u32) {
        let rect = rect.intersect(&self.bounds());
        for y in rect.y..rect.y + rect.h {
            let start = y * self.width + rect.x;
            self.pixels[start..start + rect.w].fill(colour);
        }
    }

    /// Draw `text` with its top-left corner at (`x`, `y`); returns the x after the last glyph.
    pub fn draw_text(&mut self, x: usize, y: usize, text: &str, style: TextStyle) -> usize {
        let mut cursor = x;
        for c in text.chars() {
            self.draw_glyph(cursor, y, c, style);
            cursor += font::WIDTH * style.scale_x;
        }
        cursor
    }

    /// Draw one character cell (font::WIDTH x font::HEIGHT, scaled), clipped to the framebuffer.
    pub fn draw_glyph(&mut self, x: usize, y: usize, c: char, style: TextStyle) {
        let rows = font::glyph(c);
        for (gy, bits) in rows.iter().enumerate() {
            for gx in 0..font::WIDTH {
                let on = bits & (1 << gx) != 0;
                let colour = match (on, style.bg) {
                    (true, _) => style.fg,
                    (false, Some(bg)) => bg,
                    (false, None) => continue,
                };
                let rect = Rect::new(
                    x + gx * style.scale_x,
                    y + gy * style.scale_y,
                    style.scale_x,
                    style.scale_y,
                );
                self.fill(rect, colour);
            }
        }
    }

    /// Copy the pixels of `src` so that its top-left corner lands on (`dst_x`, `dst_y`)
    /// (overlapping moves are fine, as in RFB's CopyRect).
    pub fn copy_rect(&mut self, src: Rect, dst_x: usize, dst_y: usize) {
        let src = src.intersect(&self.bounds());
        let dst = Rect::new(dst_x, dst_y, src.w, src.h).intersect(&self.bounds());
        let (w, h) = (dst.w.min(src.w), dst.h.min(src.h));
        let rows: Box<dyn Iterator<Item = usize>> = if dst_y > src.y {
            Box::new((0..h).rev())
        } else {
            Box::new(0..h)
        };
        for row in rows {
            let from = (src.y + row) * self.width + src.x;
            let to = (dst_y + row) * self.width + dst_x;
            self.pixels.copy_within(from..from + w, to);
        }
    }

    /// Overwrite pixels of row `y` from column `x` (clipped to the framebuffer).
    pub fn put_row(&mut self, x: usize, y: usize, pixels: &[u32]) {
        if y >= self.height || x >= self.width {
            return;
        }
        let n = pixels.len().min(self.width - x);
        let start = y * self.width + x;
        self.pixels[start..start + n].copy_from_slice(&pixels[..n]);
    }

    /// Copy `rect` from `other` (same size) into `self`.
    pub fn copy_from(&mut self, other: &Framebuffer, rect: Rect) {
        let rect = rect.intersect(&self.bounds());
        for y in rect.y..rect.y + rect.h {
            let start = y * self.width + rect.x;
            self.pixels[start..start + rect.w]
                .copy_from_slice(&other.pixels[start..start + rect.w]);
        }
    }

    /// Do `self` and `other` (same size) differ anywhere inside `rect`?
    pub fn differs(&self, other: &Framebuffer, rect: Rect) -> bool {
        (rect.y..rect.y + rect.h).any(|y| {
            let start = y * self.width + rect.x;
            self.pixels[start..start + rect.w] != other.pixels[start..start + rect.w]
        })
    }

    /// A framebuffer from an 8-bit RGB or RGBA PNG (a screenshot, a browser canvas's
    /// `toDataURL`); alpha is dropped.
    pub fn from_png(bytes: &[u8]) -> Result<Self, png::DecodingError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let size = reader
            .output_buffer_size()
            .ok_or(png::DecodingError::LimitsExceeded)?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let (width, height) = (info.width as usize, info.height as usize);
        let mut fb = Self::new(width, height, 0);
        for (i, pixel) in buf[..info.buffer_size()].chunks_exact(channels).enumerate() {
            fb.pixels[i] = match channels {
                1 | 2 => u32::from(pixel[0]) * 0x0001_0101,
                _ => (u32::from(pixel[0]) << 16) | (u32::from(pixel[1]) << 8) | u32::from(pixel[2]),
            };
        }
        Ok(fb)
    }

    /// The framebuffer as an 8-bit RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut rgb = Vec::with_capacity(self.pixels.len() * 3);
        for p in &self.pixels {
            rgb.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, *p as u8]);
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(&rgb)?;
            writer.finish()?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rect_moves_overlapping_rows_like_copyrect() {
        let mut fb = Framebuffer::new(4, 4, 0);
        for y in 0..4 {
            fb.fill(Rect::new(0, y, 4, 1), y as u32 + 1);
        }
        fb.copy_rect(Rect::new(0, 1, 4, 3), 0, 0);
        let column: Vec<u32> = (0..4).map(|y| fb.pixel(0, y)).collect();
        assert_eq!(column, vec![2, 3, 4, 4]);
        fb.copy_rect(Rect::new(0, 0, 4, 3), 0, 1);
        let column: Vec<u32> = (0..4).map(|y| fb.pixel(0, y)).collect();
        assert_eq!(column, vec![2, 2, 3, 4]);
    }

    #[test]
    fn text_sets_pixels_and_png_round_trips_its_size() {
        let mut fb = Framebuffer::new(64, 16, 0);
        let style = TextStyle {
            fg: 0x00ff_ffff,
            bg: None,
            scale_x: 1,
            scale_y: 2,
        };
        assert_eq!(fb.draw_text(0, 0, "Hi", style), 16);
        assert!(fb.pixels.contains(&0x00ff_ffff));
        let png = fb.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (64, 16));
    }
}
