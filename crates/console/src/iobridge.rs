//! A console websocket bridged to plain bytes (a terminal's stdin/stdout, a VNC viewer's TCP
//! connection): binary frames out as bytes, bytes in as binary frames, an optional escape byte
//! (Ctrl+] for a terminal) that leaves. One buffer per direction: nothing piles up.

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::upstream::UpstreamSocket;

/// Ctrl+]: leaves a serial console, as with `virtctl console` and telnet.
pub const ESCAPE: u8 = 0x1d;
/// The largest read forwarded as one frame.
const CHUNK: usize = 64 * 1024;

/// How a bridge ended (all of them normal ends, not errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoEnded {
    /// The escape byte was read.
    Escaped,
    /// The input ended (EOF) and the console then closed.
    InputClosed,
    /// The cluster closed the console (its close frame, if any).
    UpstreamClosed(Option<CloseFrame>),
    /// The cluster's connection ended without a close frame.
    UpstreamGone,
}

/// Why a bridge failed.
#[derive(Debug, thiserror::Error)]
pub enum IoBridgeError {
    #[error("reading the input: {0}")]
    Input(#[source] std::io::Error),
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
    #[error("the console's connection failed: {0}")]
    Upstream(#[source] tokio_tungstenite::tungstenite::Error),
}

/// Bridge `upstream` to `input`/`output` until one side ends. When the input ends, the console
/// is closed politely and what it still sends is written out first.
pub async fn bridge_io<R, W>(
    upstream: UpstreamSocket,
    mut input: R,
    mut output: W,
    escape: Option<u8>,
) -> Result<IoEnded, IoBridgeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = upstream.split();
    let mut buf = vec![0u8; CHUNK];
    let mut input_open = true;
    loop {
        tokio::select! {
            message = rx.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    output.write_all(&data).await.map_err(IoBridgeError::Output)?;
                    output.flush().await.map_err(IoBridgeError::Output)?;
                }
                // KubeVirt sends binary only; text is shown as it is.
                Some(Ok(Message::Text(text))) => {
                    output.write_all(text.as_bytes()).await.map_err(IoBridgeError::Output)?;
                    output.flush().await.map_err(IoBridgeError::Output)?;
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ok(if input_open { IoEnded::UpstreamClosed(frame) } else { IoEnded::InputClosed });
                }
                Some(Ok(_)) => {}
                Some(Err(error)) if !input_open => {
                    tracing::debug!("console closing: {error}");
                    return Ok(IoEnded::InputClosed);
                }
                Some(Err(error)) => return Err(IoBridgeError::Upstream(error)),
                None if input_open => return Ok(IoEnded::UpstreamGone),
                None => return Ok(IoEnded::InputClosed),
            },
            read = input.read(&mut buf), if input_open => {
                let n = read.map_err(IoBridgeError::Input)?;
                if n == 0 {
                    input_open = false;
                    let _ = tx.send(Message::Close(None)).await;
                    continue;
                }
                let data = &buf[..n];
                let (data, escaped) = match escape.and_then(|e| data.iter().position(|b| *b == e)) {
                    Some(at) => (&data[..at], true),
                    None => (data, false),
                };
                if !data.is_empty() {
                    tx.send(Message::Binary(data.to_vec().into()))
                        .await
                        .map_err(IoBridgeError::Upstream)?;
                }
                if escaped {
                    let _ = tx.send(Message::Close(None)).await;
                    return Ok(IoEnded::Escaped);
                }
            }
        }
    }
}
