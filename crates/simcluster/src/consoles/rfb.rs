//! A built-in RFB 3.8 server (also speaks 3.3 and 3.7) over any byte stream: security type
//! None, the screen's 1024x768 frame in the client's pixel format, Raw and CopyRect encodings,
//! incremental updates that carry only changed tiles (scrolls replayed as CopyRect), key events
//! typed into the guest (plain keysyms, and QEMU extended key events typed through the guest's
//! keyboard layout, announced as QEMU does with the -258 pseudo-encoding), and a bench mode
//! answering every request with a full changing frame.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::consoles::framebuffer::{Framebuffer, Rect};
use crate::consoles::keymap::{DEFAULT_KEYMAP, GuestKeyboard, KeyInput};
use crate::consoles::pixel_format::{PixelFormat, PixelFormatError, colour_map_message};
use crate::consoles::screen::{HEIGHT, Screen, WIDTH};

const ENCODING_RAW: i32 = 0;
const ENCODING_COPYRECT: i32 = 1;
/// QEMU Extended Key Event pseudo-encoding: a client naming it may send scancodes.
const ENCODING_QEMU_EXTENDED_KEY_EVENT: i32 = -258;
/// QEMU client message and its extended key event submessage.
const MESSAGE_QEMU: u8 = 255;
const QEMU_EXTENDED_KEY_EVENT: u8 = 0;
/// Tiles compared to find what changed.
const TILE: usize = 64;
/// Longest ClientCutText accepted.
const CUT_TEXT_LIMIT: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RfbError {
    #[error("rfb stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("rfb: unsupported protocol version {0:?} (3.3, 3.7 and 3.8 are served)")]
    Version(String),
    #[error("rfb: the client chose security type {0}; only 1 (None) is offered")]
    Security(u8),
    #[error(transparent)]
    PixelFormat(#[from] PixelFormatError),
    #[error("rfb: unknown client message type {0}")]
    UnknownMessage(u8),
    #[error("rfb: ClientCutText of {0} bytes is over the 1 MiB limit")]
    CutTextTooLong(usize),
    #[error("rfb: unknown QEMU client submessage {0}")]
    UnknownQemuMessage(u8),
}

impl RfbError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(_) => "rfb_io",
            Self::Version(_) => "rfb_version",
            Self::Security(_) => "rfb_security_type",
            Self::PixelFormat(e) => e.code(),
            Self::UnknownMessage(_) => "rfb_unknown_message",
            Self::CutTextTooLong(_) => "rfb_cut_text_too_long",
            Self::UnknownQemuMessage(_) => "rfb_unknown_qemu_message",
        }
    }
}

/// How one session is served.
#[derive(Debug, Clone, Default)]
pub struct RfbOptions {
    /// The desktop name in ServerInit.
    pub desktop_name: String,
    /// Answer every update request with a full, changed frame (for throughput benchmarks).
    pub bench: bool,
    /// The guest's keyboard layout (XKB name) that QEMU extended key events are typed through;
    /// empty for the default, `us`.
    pub keymap: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UpdateRequest {
    incremental: bool,
    rect: Rect,
}

#[derive(Debug)]
enum ClientMessage {
    SetPixelFormat(PixelFormat),
    SetEncodings(Vec<i32>),
    Update(UpdateRequest),
    Key(KeyInput),
    Ignored,
}

/// Serve one RFB client on `stream` until it leaves.
pub async fn serve<S>(stream: S, screen: Arc<Screen>, options: RfbOptions) -> Result<(), RfbError>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    handshake(&mut reader, &mut writer, &options.desktop_name).await?;
    let (messages_tx, mut messages) = mpsc::channel(64);
    let read_task = tokio::spawn(async move {
        let result = read_messages(&mut reader, &messages_tx).await;
        if let Err(error) = result {
            let _ = messages_tx.send(Err(error)).await;
        }
    });
    let keymap = if options.keymap.is_empty() {
        DEFAULT_KEYMAP
    } else {
        &options.keymap
    };
    let keyboard = GuestKeyboard::start(screen.clone(), keymap)?;
    let mut session = Session::new(screen, options.bench, keyboard);
    let mut changes = session.screen.subscribe();
    let result = async {
        loop {
            tokio::select! {
                message = messages.recv() => match message {
                    Some(message) => session.handle(message?, &mut writer).await?,
                    None => return Ok(()),
                },
                changed = changes.changed(), if session.pending.is_some() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
            }
            session.answer(&mut changes, &mut writer).await?;
        }
    }
    .await;
    read_task.abort();
    result
}

async fn handshake<R, W>(reader: &mut R, writer: &mut W, name: &str) -> Result<(), RfbError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    writer.write_all(b"RFB 003.008\n").await?;
    let mut version = [0u8; 12];
    reader.read_exact(&mut version).await?;
    let text = String::from_utf8_lossy(&version).into_owned();
    let minor = match &version {
        b"RFB 003.003\n" => 3,
        b"RFB 003.007\n" => 7,
        b"RFB 003.008\n" | b"RFB 003.889\n" => 8,
        _ => return Err(RfbError::Version(text)),
    };
    if minor >= 7 {
        writer.write_all(&[1, 1]).await?;
        let choice = reader.read_u8().await?;
        if choice != 1 {
            if minor >= 8 {
                let reason = b"only security type None is offered";
                writer.write_all(&1u32.to_be_bytes()).await?;
                writer
                    .write_all(&(reason.len() as u32).to_be_bytes())
                    .await?;
                writer.write_all(reason).await?;
            }
            return Err(RfbError::Security(choice));
        }
        if minor >= 8 {
            writer.write_all(&0u32.to_be_bytes()).await?;
        }
    } else {
        writer.write_all(&1u32.to_be_bytes()).await?;
    }
    let _shared = reader.read_u8().await?;
    let mut init = Vec::with_capacity(24 + name.len());
    init.extend_from_slice(&(WIDTH as u16).to_be_bytes());
    init.extend_from_slice(&(HEIGHT as u16).to_be_bytes());
    init.extend_from_slice(&PixelFormat::SERVER.to_bytes());
    init.extend_from_slice(&(name.len() as u32).to_be_bytes());
    init.extend_from_slice(name.as_bytes());
    writer.write_all(&init).await?;
    writer.flush().await?;
    Ok(())
}

async fn read_messages<R: AsyncRead + Unpin>(
    reader: &mut R,
    out: &mpsc::Sender<Result<ClientMessage, RfbError>>,
) -> Result<(), RfbError> {
    loop {
        let kind = match reader.read_u8().await {
            Ok(kind) => kind,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let message = match kind {
            0 => {
                let mut b = [0u8; 19];
                reader.read_exact(&mut b).await?;
                let mut format = [0u8; 16];
                format.copy_from_slice(&b[3..19]);
                ClientMessage::SetPixelFormat(PixelFormat::parse(&format)?)
            }
            2 => {
                let _pad = reader.read_u8().await?;
                let count = reader.read_u16().await?;
                let mut encodings = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    encodings.push(reader.read_i32().await?);
                }
                ClientMessage::SetEncodings(encodings)
            }
            3 => {
                let incremental = reader.read_u8().await? != 0;
                let mut r = [0u16; 4];
                for v in &mut r {
                    *v = reader.read_u16().await?;
                }
                let requested = Rect::new(
                    usize::from(r[0]),
                    usize::from(r[1]),
                    usize::from(r[2]),
                    usize::from(r[3]),
                );
                ClientMessage::Update(UpdateRequest {
                    incremental,
                    rect: requested.intersect(&Rect::new(0, 0, WIDTH, HEIGHT)),
                })
            }
            4 => {
                let down = reader.read_u8().await? != 0;
                let _pad = reader.read_u16().await?;
                let keysym = reader.read_u32().await?;
                ClientMessage::Key(KeyInput::Keysym { down, keysym })
            }
            MESSAGE_QEMU => match reader.read_u8().await? {
                QEMU_EXTENDED_KEY_EVENT => {
                    let down = reader.read_u16().await? != 0;
                    let keysym = reader.read_u32().await?;
                    let xt = reader.read_u32().await?;
                    ClientMessage::Key(KeyInput::Scancode { down, keysym, xt })
                }
                other => return Err(RfbError::UnknownQemuMessage(other)),
            },
            5 => {
                let mut b = [0u8; 5];
                reader.read_exact(&mut b).await?;
                ClientMessage::Ignored
            }
            6 => {
                let mut pad = [0u8; 3];
                reader.read_exact(&mut pad).await?;
                // A negative length is the extended clipboard's; its size is the absolute value.
                let length = reader.read_i32().await?.unsigned_abs() as usize;
                if length > CUT_TEXT_LIMIT {
                    return Err(RfbError::CutTextTooLong(length));
                }
                let mut text = vec![0u8; length];
                reader.read_exact(&mut text).await?;
                ClientMessage::Ignored
            }
            other => return Err(RfbError::UnknownMessage(other)),
        };
        if out.send(Ok(message)).await.is_err() {
            return Ok(());
        }
    }
}

/// What one client has and wants.
struct Session {
    screen: Arc<Screen>,
    format: PixelFormat,
    copy_rect: bool,
    pending: Option<UpdateRequest>,
    /// What the client's framebuffer holds (valid once `known`).
    shadow: Framebuffer,
    shadow_moves: u64,
    known: bool,
    keyboard: GuestKeyboard,
    bench: Option<u64>,
}

enum Piece {
    Raw(Rect),
    Copy {
        src: Rect,
        dst_x: usize,
        dst_y: usize,
    },
}

impl Session {
    fn new(screen: Arc<Screen>, bench: bool, keyboard: GuestKeyboard) -> Self {
        Self {
            screen,
            format: PixelFormat::SERVER,
            copy_rect: false,
            pending: None,
            shadow: Framebuffer::new(WIDTH, HEIGHT, 0),
            shadow_moves: 0,
            known: false,
            keyboard,
            bench: bench.then_some(0),
        }
    }

    async fn handle<W: AsyncWrite + Unpin>(
        &mut self,
        message: ClientMessage,
        writer: &mut W,
    ) -> Result<(), RfbError> {
        match message {
            ClientMessage::SetPixelFormat(format) => {
                self.format = format;
                // Pixels already sent were in the old format: the next update resends all.
                self.known = false;
                if !format.true_colour {
                    writer.write_all(&colour_map_message()).await?;
                }
            }
            ClientMessage::SetEncodings(encodings) => {
                self.copy_rect = encodings.contains(&ENCODING_COPYRECT);
                if encodings.contains(&ENCODING_QEMU_EXTENDED_KEY_EVENT) {
                    // As QEMU does: an update holding only the pseudo-rectangle says yes.
                    let mut ack = vec![0, 0, 0, 1];
                    push_header(
                        &mut ack,
                        Rect::new(0, 0, WIDTH, HEIGHT),
                        ENCODING_QEMU_EXTENDED_KEY_EVENT,
                    );
                    writer.write_all(&ack).await?;
                    writer.flush().await?;
                }
            }
            ClientMessage::Update(request) => {
                // A non-incremental request wins over a pending incremental one.
                self.pending = match self.pending {
                    Some(pending) if !pending.incremental => Some(pending),
                    _ => Some(request),
                };
            }
            ClientMessage::Key(input) => self.keyboard.send(input),
            ClientMessage::Ignored => {}
        }
        Ok(())
    }

    /// Answer the pending update request if there is something to send.
    async fn answer<W: AsyncWrite + Unpin>(
        &mut self,
        changes: &mut watch::Receiver<u64>,
        writer: &mut W,
    ) -> Result<(), RfbError> {
        let Some(request) = self.pending else {
            return Ok(());
        };
        if let Some(frame) = self.bench.as_mut() {
            *frame += 1;
            let bytes = bench_frame(*frame, &self.format);
            self.pending = None;
            writer.write_all(&bytes).await?;
            writer.flush().await?;
            return Ok(());
        }
        changes.borrow_and_update();
        let pieces = self.changed_pieces(request);
        if pieces.is_empty() {
            return Ok(());
        }
        self.pending = None;
        let mut out = Vec::new();
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(pieces.len() as u16).to_be_bytes());
        for piece in &pieces {
            match *piece {
                Piece::Raw(rect) => {
                    push_header(&mut out, rect, ENCODING_RAW);
                    for y in rect.y..rect.y + rect.h {
                        self.format
                            .encode(self.shadow.row(rect.x, y, rect.w), &mut out);
                    }
                }
                Piece::Copy { src, dst_x, dst_y } => {
                    push_header(
                        &mut out,
                        Rect::new(dst_x, dst_y, src.w, src.h),
                        ENCODING_COPYRECT,
                    );
                    out.extend_from_slice(&(src.x as u16).to_be_bytes());
                    out.extend_from_slice(&(src.y as u16).to_be_bytes());
                }
            }
        }
        writer.write_all(&out).await?;
        writer.flush().await?;
        Ok(())
    }

    /// Bring the shadow up to date inside `request` and say what the client must be sent.
    fn changed_pieces(&mut self, request: UpdateRequest) -> Vec<Piece> {
        let full = !request.incremental || !self.known;
        let copy_rect = self.copy_rect;
        let Self {
            screen,
            shadow,
            shadow_moves,
            known,
            ..
        } = self;
        screen.with_display(|display| {
            let mut pieces = Vec::new();
            if full {
                shadow.copy_from(&display.fb, request.rect);
                *shadow_moves = display.seq();
                if request.rect == display.fb.bounds() {
                    *known = true;
                }
                if !request.rect.is_empty() {
                    pieces.push(Piece::Raw(request.rect));
                }
                return pieces;
            }
            if copy_rect && let Some(moves) = display.moves_since(*shadow_moves) {
                for m in moves {
                    shadow.copy_rect(m.src, m.dst_x, m.dst_y);
                    pieces.push(Piece::Copy {
                        src: m.src,
                        dst_x: m.dst_x,
                        dst_y: m.dst_y,
                    });
                }
            }
            *shadow_moves = display.seq();
            let area = request.rect;
            let mut y = area.y;
            while y < area.y + area.h {
                let h = TILE.min(area.y + area.h - y);
                let mut run: Option<Rect> = None;
                let mut x = area.x;
                while x < area.x + area.w {
                    let w = TILE.min(area.x + area.w - x);
                    let tile = Rect::new(x, y, w, h);
                    if display.fb.differs(shadow, tile) {
                        shadow.copy_from(&display.fb, tile);
                        run = Some(match run {
                            Some(r) => Rect::new(r.x, r.y, r.w + w, h),
                            None => tile,
                        });
                    } else if let Some(r) = run.take() {
                        pieces.push(Piece::Raw(r));
                    }
                    x += w;
                }
                if let Some(r) = run {
                    pieces.push(Piece::Raw(r));
                }
                y += h;
            }
            pieces
        })
    }
}

fn push_header(out: &mut Vec<u8>, rect: Rect, encoding: i32) {
    for v in [rect.x, rect.y, rect.w, rect.h] {
        out.extend_from_slice(&(v as u16).to_be_bytes());
    }
    out.extend_from_slice(&encoding.to_be_bytes());
}

/// A whole FramebufferUpdate for bench mode: colour bands that move with every frame.
fn bench_frame(frame: u64, format: &PixelFormat) -> Vec<u8> {
    let bpp = format.bytes_per_pixel();
    let mut out = Vec::with_capacity(16 + WIDTH * HEIGHT * bpp);
    out.extend_from_slice(&[0, 0, 0, 1]);
    push_header(&mut out, Rect::new(0, 0, WIDTH, HEIGHT), ENCODING_RAW);
    for y in 0..HEIGHT {
        let band = (y as u64 + frame * 8) as u32;
        let colour = (band & 0xff) << 16
            | ((band / 2 + frame as u32 * 3) & 0xff) << 8
            | (frame as u32 * 5) & 0xff;
        let mut pixel = Vec::with_capacity(bpp);
        format.push(format.value(colour), &mut pixel);
        out.extend_from_slice(&pixel.repeat(WIDTH));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_frames_are_full_and_differ() {
        let a = bench_frame(1, &PixelFormat::SERVER);
        let b = bench_frame(2, &PixelFormat::SERVER);
        assert_eq!(a.len(), 16 + WIDTH * HEIGHT * 4);
        assert_ne!(a[16..], b[16..]);
    }
}
