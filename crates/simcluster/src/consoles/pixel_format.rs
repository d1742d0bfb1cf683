//! RFB pixel formats: the server's native one (32 bpp true colour), parsing what a client asks
//! for with SetPixelFormat, and turning `0x00RRGGBB` pixels into the client's bytes (true colour
//! with any maxima and shifts, or a fixed 3-3-2 colour map for colour-mapped clients).

/// Why a requested pixel format cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixelFormatError {
    #[error("SetPixelFormat: bits-per-pixel must be 8, 16 or 32 (got {0})")]
    BitsPerPixel(u8),
    #[error(
        "SetPixelFormat: the {colour} channel (max {max}, shift {shift}) does not fit in {bits} bits per pixel"
    )]
    Channel {
        colour: &'static str,
        max: u16,
        shift: u8,
        bits: u8,
    },
}

impl PixelFormatError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BitsPerPixel(_) => "rfb_bits_per_pixel",
            Self::Channel { .. } => "rfb_pixel_channel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelFormat {
    pub bits_per_pixel: u8,
    pub depth: u8,
    pub big_endian: bool,
    pub true_colour: bool,
    pub red_max: u16,
    pub green_max: u16,
    pub blue_max: u16,
    pub red_shift: u8,
    pub green_shift: u8,
    pub blue_shift: u8,
}

impl PixelFormat {
    /// What the server announces: 32 bpp, depth 24, little-endian, `0x00RRGGBB`.
    pub const SERVER: Self = Self {
        bits_per_pixel: 32,
        depth: 24,
        big_endian: false,
        true_colour: true,
        red_max: 255,
        green_max: 255,
        blue_max: 255,
        red_shift: 16,
        green_shift: 8,
        blue_shift: 0,
    };

    /// The 16-byte wire form.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.bits_per_pixel;
        b[1] = self.depth;
        b[2] = self.big_endian as u8;
        b[3] = self.true_colour as u8;
        b[4..6].copy_from_slice(&self.red_max.to_be_bytes());
        b[6..8].copy_from_slice(&self.green_max.to_be_bytes());
        b[8..10].copy_from_slice(&self.blue_max.to_be_bytes());
        b[10] = self.red_shift;
        b[11] = self.green_shift;
        b[12] = self.blue_shift;
        b
    }

    /// Parse and check the 16-byte wire form.
    pub fn parse(b: &[u8; 16]) -> Result<Self, PixelFormatError> {
        let format = Self {
            bits_per_pixel: b[0],
            depth: b[1],
            big_endian: b[2] != 0,
            true_colour: b[3] != 0,
            red_max: u16::from_be_bytes([b[4], b[5]]),
            green_max: u16::from_be_bytes([b[6], b[7]]),
            blue_max: u16::from_be_bytes([b[8], b[9]]),
            red_shift: b[10],
            green_shift: b[11],
            blue_shift: b[12],
        };
        if !matches!(format.bits_per_pixel, 8 | 16 | 32) {
            return Err(PixelFormatError::BitsPerPixel(format.bits_per_pixel));
        }
        if format.true_colour {
            for (colour, max, shift) in [
                ("red", format.red_max, format.red_shift),
                ("green", format.green_max, format.green_shift),
                ("blue", format.blue_max, format.blue_shift),
            ] {
                let width = 16 - max.leading_zeros() as u8;
                if max == 0
                    || u32::from(shift) + u32::from(width) > u32::from(format.bits_per_pixel)
                {
                    return Err(PixelFormatError::Channel {
                        colour,
                        max,
                        shift,
                        bits: format.bits_per_pixel,
                    });
                }
            }
        }
        Ok(format)
    }

    pub fn bytes_per_pixel(&self) -> usize {
        usize::from(self.bits_per_pixel / 8)
    }

    /// One pixel's value in this format.
    pub fn value(&self, pixel: u32) -> u32 {
        let (r, g, b) = ((pixel >> 16) & 0xff, (pixel >> 8) & 0xff, pixel & 0xff);
        if self.true_colour {
            let scale = |c: u32, max: u16| (c * u32::from(max) + 127) / 255;
            scale(r, self.red_max) << self.red_shift
                | scale(g, self.green_max) << self.green_shift
                | scale(b, self.blue_max) << self.blue_shift
        } else {
            (r >> 5) << 5 | (g >> 5) << 2 | (b >> 6)
        }
    }

    /// Append one pixel's bytes.
    pub fn push(&self, value: u32, out: &mut Vec<u8>) {
        match (self.bits_per_pixel, self.big_endian) {
            (8, _) => out.push(value as u8),
            (16, false) => out.extend_from_slice(&(value as u16).to_le_bytes()),
            (16, true) => out.extend_from_slice(&(value as u16).to_be_bytes()),
            (_, false) => out.extend_from_slice(&value.to_le_bytes()),
            (_, true) => out.extend_from_slice(&value.to_be_bytes()),
        }
    }

    /// Append a row of pixels.
    pub fn encode(&self, pixels: &[u32], out: &mut Vec<u8>) {
        out.reserve(pixels.len() * self.bytes_per_pixel());
        if *self == Self::SERVER {
            for p in pixels {
                out.extend_from_slice(&p.to_le_bytes());
            }
        } else {
            for p in pixels {
                self.push(self.value(*p), out);
            }
        }
    }
}

/// The SetColourMapEntries message for the 3-3-2 map used with colour-mapped clients.
pub fn colour_map_message() -> Vec<u8> {
    let mut out = vec![1, 0, 0, 0, 1, 0];
    for i in 0u32..256 {
        let r = ((i >> 5) & 7) * 65535 / 7;
        let g = ((i >> 2) & 7) * 65535 / 7;
        let b = (i & 3) * 65535 / 3;
        for c in [r, g, b] {
            out.extend_from_slice(&(c as u16).to_be_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips_and_bad_formats_are_refused() {
        let bytes = PixelFormat::SERVER.to_bytes();
        assert_eq!(PixelFormat::parse(&bytes).unwrap(), PixelFormat::SERVER);
        let mut bad = bytes;
        bad[0] = 24;
        assert_eq!(
            PixelFormat::parse(&bad).unwrap_err(),
            PixelFormatError::BitsPerPixel(24)
        );
        let mut bad = bytes;
        bad[0] = 16;
        assert_eq!(
            PixelFormat::parse(&bad).unwrap_err().code(),
            "rfb_pixel_channel"
        );
    }

    #[test]
    fn rgb565_big_endian_and_colour_map_values() {
        let rgb565 = PixelFormat {
            bits_per_pixel: 16,
            depth: 16,
            big_endian: true,
            true_colour: true,
            red_max: 31,
            green_max: 63,
            blue_max: 31,
            red_shift: 11,
            green_shift: 5,
            blue_shift: 0,
        };
        let mut out = Vec::new();
        rgb565.encode(&[0x00ff_0000, 0x0000_00ff], &mut out);
        assert_eq!(out, vec![0xf8, 0x00, 0x00, 0x1f]);
        let mapped = PixelFormat {
            bits_per_pixel: 8,
            true_colour: false,
            ..PixelFormat::SERVER
        };
        assert_eq!(mapped.value(0x00ff_ffff), 0xff);
        assert_eq!(colour_map_message().len(), 6 + 256 * 6);
    }
}
