//! The console's bitmap font: the public-domain 8x8 glyphs of the `font8x8` crate (ASCII),
//! drawn twice as tall on the console so a cell is 8x16 like a VGA text mode.

/// Glyph width in font pixels.
pub const WIDTH: usize = 8;
/// Glyph height in font pixels.
pub const HEIGHT: usize = 8;

/// The rows of `c` (bit 0 is the leftmost pixel); characters outside ASCII show as `?`.
pub fn glyph(c: char) -> [u8; 8] {
    let index = if c.is_ascii() {
        c as usize
    } else {
        '?' as usize
    };
    font8x8::legacy::BASIC_LEGACY[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_have_pixels_and_space_has_none() {
        assert!(glyph('A').iter().any(|row| *row != 0));
        assert!(glyph(' ').iter().all(|row| *row == 0));
        assert_eq!(glyph('é'), glyph('?'));
    }
}
