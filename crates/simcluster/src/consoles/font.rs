//! The console's bitmap font: the public-domain 8x8 glyphs of the `font8x8` crate (ASCII and
//! Latin-1), plus the euro sign it lacks, drawn twice as tall on the console so a cell is 8x16
//! like a VGA text mode.

/// Glyph width in font pixels.
pub const WIDTH: usize = 8;
/// Glyph height in font pixels.
pub const HEIGHT: usize = 8;

/// U+20AC in the style of the font (bit 0 is the leftmost pixel).
const EURO: [u8; 8] = [0x38, 0x44, 0x1F, 0x04, 0x1F, 0x44, 0x38, 0x00];

/// The rows of `c` (bit 0 is the leftmost pixel); characters the font lacks show as `?`.
pub fn glyph(c: char) -> [u8; 8] {
    match u32::from(c) {
        code @ 0..=0x7f => font8x8::legacy::BASIC_LEGACY[code as usize],
        code @ 0xa0..=0xff => font8x8::legacy::LATIN_LEGACY[(code - 0xa0) as usize],
        0x20ac => EURO,
        _ => font8x8::legacy::BASIC_LEGACY['?' as usize],
    }
}

/// Whether the font draws `c` (others show as `?`).
pub fn has_glyph(c: char) -> bool {
    matches!(u32::from(c), 0x20..=0x7e | 0xa0..=0xff | 0x20ac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_have_pixels_and_space_has_none() {
        assert!(glyph('A').iter().any(|row| *row != 0));
        assert!(glyph(' ').iter().all(|row| *row == 0));
        assert_ne!(glyph('ü'), glyph('?'));
        assert_ne!(glyph('€'), glyph('?'));
        assert_eq!(glyph('ж'), glyph('?'));
    }
}
