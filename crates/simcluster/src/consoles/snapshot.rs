//! Screenshots of a real VNC server (a bridged backend): connect as a shared RFB 3.8 client,
//! ask for 32 bpp `0x00RRGGBB` in Raw encoding, take one full frame.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::consoles::framebuffer::Framebuffer;
use crate::consoles::pixel_format::PixelFormat;

/// Largest frame accepted from a backend (pixels).
const MAX_PIXELS: usize = 8192 * 8192;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("talking to the VNC backend: {0}")]
    Io(#[from] std::io::Error),
    #[error("the VNC backend did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the VNC backend does not speak RFB 3.8 (it said {0:?})")]
    Version(String),
    #[error(
        "the VNC backend needs authentication (security types offered: {0:?}); only None is supported"
    )]
    Security(Vec<u8>),
    #[error("the VNC backend refused the connection: {0}")]
    Refused(String),
    #[error("the VNC backend sent {0}")]
    Protocol(String),
}

impl SnapshotError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "vnc_backend_io",
            Self::Timeout(_) => "vnc_backend_timeout",
            Self::Version(_) => "vnc_backend_version",
            Self::Security(_) => "vnc_backend_security",
            Self::Refused(_) => "vnc_backend_refused",
            Self::Protocol(_) => "vnc_backend_protocol",
        }
    }
}

/// One full frame of the VNC server at `address`.
pub async fn capture(address: SocketAddr, timeout: Duration) -> Result<Framebuffer, SnapshotError> {
    tokio::time::timeout(timeout, capture_now(address))
        .await
        .map_err(|_| SnapshotError::Timeout(timeout))?
}

async fn capture_now(address: SocketAddr) -> Result<Framebuffer, SnapshotError> {
    let mut tcp = tokio::net::TcpStream::connect(address).await?;
    let mut version = [0u8; 12];
    tcp.read_exact(&mut version).await?;
    if !version.starts_with(b"RFB 003.") || version < *b"RFB 003.008\n" {
        return Err(SnapshotError::Version(
            String::from_utf8_lossy(&version).into_owned(),
        ));
    }
    tcp.write_all(b"RFB 003.008\n").await?;
    let count = tcp.read_u8().await?;
    if count == 0 {
        return Err(SnapshotError::Refused(read_reason(&mut tcp).await?));
    }
    let mut types = vec![0u8; usize::from(count)];
    tcp.read_exact(&mut types).await?;
    if !types.contains(&1) {
        return Err(SnapshotError::Security(types));
    }
    tcp.write_all(&[1]).await?;
    if tcp.read_u32().await? != 0 {
        return Err(SnapshotError::Refused(read_reason(&mut tcp).await?));
    }
    // Shared: the console session that may be open stays connected.
    tcp.write_all(&[1]).await?;
    let width = usize::from(tcp.read_u16().await?);
    let height = usize::from(tcp.read_u16().await?);
    if width * height > MAX_PIXELS {
        return Err(SnapshotError::Protocol(format!(
            "a {width}x{height} screen"
        )));
    }
    let mut format = [0u8; 16];
    tcp.read_exact(&mut format).await?;
    let name_length = tcp.read_u32().await? as usize;
    let mut name = vec![0u8; name_length.min(4096)];
    tcp.read_exact(&mut name).await?;
    let mut request = vec![0u8, 0, 0, 0];
    request.extend_from_slice(&PixelFormat::SERVER.to_bytes());
    request.extend_from_slice(&[2, 0, 0, 1, 0, 0, 0, 0]);
    request.extend_from_slice(&[3, 0, 0, 0, 0, 0]);
    request.extend_from_slice(&(width as u16).to_be_bytes());
    request.extend_from_slice(&(height as u16).to_be_bytes());
    tcp.write_all(&request).await?;
    let mut fb = Framebuffer::new(width, height, 0);
    loop {
        match tcp.read_u8().await? {
            0 => break,
            1 => {
                let mut head = [0u8; 5];
                tcp.read_exact(&mut head).await?;
                let n = usize::from(u16::from_be_bytes([head[3], head[4]]));
                skip(&mut tcp, n * 6).await?;
            }
            2 => {}
            3 => {
                let mut pad = [0u8; 3];
                tcp.read_exact(&mut pad).await?;
                let n = tcp.read_u32().await? as usize;
                skip(&mut tcp, n).await?;
            }
            other => {
                return Err(SnapshotError::Protocol(format!(
                    "unknown message type {other}"
                )));
            }
        }
    }
    let _pad = tcp.read_u8().await?;
    let rects = tcp.read_u16().await?;
    for _ in 0..rects {
        let mut head = [0u8; 12];
        tcp.read_exact(&mut head).await?;
        let field = |i: usize| usize::from(u16::from_be_bytes([head[i], head[i + 1]]));
        let (x, y, w, h) = (field(0), field(2), field(4), field(6));
        let encoding = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        if encoding != 0 {
            return Err(SnapshotError::Protocol(format!(
                "encoding {encoding}, which was not asked for"
            )));
        }
        if x + w > width || y + h > height {
            return Err(SnapshotError::Protocol(format!(
                "a rectangle {x},{y} {w}x{h} outside its {width}x{height} screen"
            )));
        }
        let mut data = vec![0u8; w * h * 4];
        tcp.read_exact(&mut data).await?;
        for (row, line) in data.chunks(w * 4).enumerate() {
            let pixels: Vec<u32> = line
                .chunks(4)
                .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) & 0x00ff_ffff)
                .collect();
            fb.put_row(x, y + row, &pixels);
        }
    }
    Ok(fb)
}

async fn read_reason(tcp: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let length = tcp.read_u32().await? as usize;
    let mut reason = vec![0u8; length.min(4096)];
    tcp.read_exact(&mut reason).await?;
    Ok(String::from_utf8_lossy(&reason).into_owned())
}

async fn skip(tcp: &mut tokio::net::TcpStream, n: usize) -> std::io::Result<()> {
    let mut left = n;
    let mut buf = [0u8; 4096];
    while left > 0 {
        let chunk = left.min(buf.len());
        tcp.read_exact(&mut buf[..chunk]).await?;
        left -= chunk;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::consoles::rfb::{RfbOptions, serve};
    use crate::consoles::screen::Screen;

    #[tokio::test]
    async fn captures_the_built_in_server_exactly() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let screen = Arc::new(Screen::boot("default", "snap"));
        let served = screen.clone();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = serve(tcp, served, RfbOptions::default()).await;
        });
        let fb = capture(address, Duration::from_secs(10)).await.unwrap();
        assert_eq!(fb, screen.with_display(|d| d.fb.clone()));
    }
}
