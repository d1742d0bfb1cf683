//! The tests' own RFB 3.8 client: handshake with security None, asks for 32 bpp `0x00RRGGBB`,
//! decodes Raw and CopyRect rectangles into its copy of the framebuffer.

use super::Bytes;

/// One rectangle of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
    pub encoding: i32,
}

pub struct Client {
    pub io: Bytes,
    pub width: usize,
    pub height: usize,
    pub name: String,
    /// The pixel format the server announced in ServerInit.
    pub server_format: Vec<u8>,
    pub pixels: Vec<u32>,
}

impl Client {
    /// Run the RFB 3.8 handshake (asserting each step) and ask for Raw + CopyRect in 32 bpp.
    pub async fn handshake(mut io: Bytes) -> Self {
        let version = io.read(12).await;
        assert_eq!(version, b"RFB 003.008\n", "the server speaks RFB 3.8");
        io.send(b"RFB 003.008\n").await;
        let count = io.u8().await;
        assert!(count > 0, "the server offers security types");
        let types = io.read(usize::from(count)).await;
        assert!(
            types.contains(&1),
            "security type None is offered: {types:?}"
        );
        io.send(&[1]).await;
        assert_eq!(io.u32().await, 0, "SecurityResult OK");
        io.send(&[1]).await;
        let width = usize::from(io.u16().await);
        let height = usize::from(io.u16().await);
        let server_format = io.read(16).await;
        let name_length = io.u32().await as usize;
        let name = String::from_utf8(io.read(name_length).await).unwrap();
        let mut client = Self {
            io,
            width,
            height,
            name,
            server_format,
            pixels: vec![0; width * height],
        };
        let format = [32u8, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0];
        let mut message = vec![0u8, 0, 0, 0];
        message.extend_from_slice(&format);
        client.io.send(&message).await;
        client.set_encodings(&[0, 1]).await;
        client
    }

    pub async fn set_encodings(&mut self, encodings: &[i32]) {
        let mut message = vec![2u8, 0];
        message.extend_from_slice(&(encodings.len() as u16).to_be_bytes());
        for e in encodings {
            message.extend_from_slice(&e.to_be_bytes());
        }
        self.io.send(&message).await;
    }

    /// FramebufferUpdateRequest for the whole screen.
    pub async fn request(&mut self, incremental: bool) {
        let mut message = vec![3u8, incremental as u8, 0, 0, 0, 0];
        message.extend_from_slice(&(self.width as u16).to_be_bytes());
        message.extend_from_slice(&(self.height as u16).to_be_bytes());
        self.io.send(&message).await;
    }

    /// Press and release one key.
    pub async fn key(&mut self, keysym: u32) {
        for down in [1u8, 0] {
            let mut message = vec![4u8, down, 0, 0];
            message.extend_from_slice(&keysym.to_be_bytes());
            self.io.send(&message).await;
        }
    }

    /// One QEMU extended key event: the physical key `xt` (XT scancode) with its keysym.
    pub async fn scancode(&mut self, down: bool, keysym: u32, xt: u32) {
        let mut message = vec![255u8, 0];
        message.extend_from_slice(&u16::from(down).to_be_bytes());
        message.extend_from_slice(&keysym.to_be_bytes());
        message.extend_from_slice(&xt.to_be_bytes());
        self.io.send(&message).await;
    }

    pub async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let keysym = if c == '\r' { 0xff0d } else { c as u32 };
            self.key(keysym).await;
        }
    }

    /// Read server messages until a FramebufferUpdate, apply it, return its rectangles.
    pub async fn read_update(&mut self) -> Vec<Piece> {
        loop {
            match self.io.u8().await {
                0 => break,
                1 => {
                    self.io.read(3).await;
                    let n = usize::from(self.io.u16().await);
                    self.io.read(n * 6).await;
                }
                2 => {}
                3 => {
                    self.io.read(3).await;
                    let n = self.io.u32().await as usize;
                    self.io.read(n).await;
                }
                other => panic!("unknown server message type {other}"),
            }
        }
        self.io.read(1).await;
        let count = self.io.u16().await;
        let mut pieces = Vec::new();
        for _ in 0..count {
            let x = usize::from(self.io.u16().await);
            let y = usize::from(self.io.u16().await);
            let w = usize::from(self.io.u16().await);
            let h = usize::from(self.io.u16().await);
            let encoding = self.io.u32().await as i32;
            assert!(
                x + w <= self.width && y + h <= self.height,
                "rect {x},{y} {w}x{h} inside the screen"
            );
            match encoding {
                0 => {
                    let data = self.io.read(w * h * 4).await;
                    for row in 0..h {
                        for col in 0..w {
                            let i = (row * w + col) * 4;
                            let p = u32::from_le_bytes([
                                data[i],
                                data[i + 1],
                                data[i + 2],
                                data[i + 3],
                            ]);
                            self.pixels[(y + row) * self.width + x + col] = p & 0x00ff_ffff;
                        }
                    }
                }
                1 => {
                    let sx = usize::from(self.io.u16().await);
                    let sy = usize::from(self.io.u16().await);
                    let copy: Vec<Vec<u32>> = (0..h)
                        .map(|row| {
                            let start = (sy + row) * self.width + sx;
                            self.pixels[start..start + w].to_vec()
                        })
                        .collect();
                    for (row, line) in copy.into_iter().enumerate() {
                        let start = (y + row) * self.width + x;
                        self.pixels[start..start + w].copy_from_slice(&line);
                    }
                }
                // QEMU Extended Key Event acknowledged: a pseudo-rectangle without data.
                -258 => {}
                other => panic!("encoding {other} was not asked for"),
            }
            pieces.push(Piece {
                x,
                y,
                w,
                h,
                encoding,
            });
        }
        pieces
    }

    pub fn pixel(&self, x: usize, y: usize) -> u32 {
        self.pixels[y * self.width + x]
    }
}
