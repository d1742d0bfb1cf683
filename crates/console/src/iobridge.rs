//! A console websocket bridged to plain bytes (a terminal's stdin/stdout, a VNC viewer's TCP
//! connection): binary frames out as bytes, bytes in as binary frames, an optional escape byte
//! (Ctrl+] for a terminal) that leaves. One buffer per direction: nothing piles up.

use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

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
    Upstream(#[source] WsError),
}

/// Bridge `upstream` to `input`/`output` until one side ends. When the input ends, the console
/// is closed politely and what it still sends is written out first.
/// `upstream` is any websocket ([`crate::upstream::UpstreamSocket`] from a dial).
pub async fn bridge_io<S, R, W>(
    upstream: S,
    mut input: R,
    mut output: W,
    escape: Option<u8>,
) -> Result<IoEnded, IoBridgeError>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    /// A websocket pair over an in-memory pipe: (ours for the bridge, the console's end).
    async fn sockets() -> (
        WebSocketStream<tokio::io::DuplexStream>,
        WebSocketStream<tokio::io::DuplexStream>,
    ) {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let ours = WebSocketStream::from_raw_socket(a, Role::Client, None);
        let theirs = WebSocketStream::from_raw_socket(b, Role::Server, None);
        tokio::join!(ours, theirs)
    }

    #[tokio::test]
    async fn bytes_both_ways_until_the_escape_byte() {
        let (ours, mut console) = sockets().await;
        let (mut keys, input) = tokio::io::duplex(1024);
        let (output, mut screen) = tokio::io::duplex(1024);
        let bridge = tokio::spawn(bridge_io(ours, input, output, Some(ESCAPE)));
        console
            .send(Message::Binary(b"login: ".to_vec().into()))
            .await
            .unwrap();
        let mut seen = [0u8; 7];
        screen.read_exact(&mut seen).await.unwrap();
        assert_eq!(&seen, b"login: ");
        keys.write_all(b"root\r\x1dignored").await.unwrap();
        assert_eq!(
            console.next().await.unwrap().unwrap(),
            Message::Binary(b"root\r".to_vec().into()),
            "what comes before the escape byte is sent, nothing after it"
        );
        assert!(matches!(
            console.next().await,
            Some(Ok(Message::Close(None)))
        ));
        assert_eq!(bridge.await.unwrap().unwrap(), IoEnded::Escaped);
    }

    #[tokio::test]
    async fn the_console_closing_ends_the_bridge_with_its_reason() {
        let (ours, mut console) = sockets().await;
        let (_keys, input) = tokio::io::duplex(1024);
        let (output, _screen) = tokio::io::duplex(1024);
        let bridge = tokio::spawn(bridge_io(ours, input, output, None));
        let frame = CloseFrame {
            code: CloseCode::Library(4002),
            reason: "VM stopped".into(),
        };
        console.close(Some(frame.clone())).await.unwrap();
        assert_eq!(
            bridge.await.unwrap().unwrap(),
            IoEnded::UpstreamClosed(Some(frame))
        );
    }

    #[tokio::test]
    async fn the_end_of_input_closes_the_console_after_its_last_words() {
        let (ours, mut console) = sockets().await;
        let (keys, input) = tokio::io::duplex(1024);
        let (output, mut screen) = tokio::io::duplex(1024);
        let bridge = tokio::spawn(bridge_io(ours, input, output, Some(ESCAPE)));
        // What the console sent as the input ended is still written out.
        console
            .send(Message::Binary(b"bye\r\n".to_vec().into()))
            .await
            .unwrap();
        drop(keys);
        assert!(matches!(
            console.next().await,
            Some(Ok(Message::Close(None)))
        ));
        // Reading on answers the close; the bridge then sees the end.
        assert!(console.next().await.is_none());
        assert_eq!(bridge.await.unwrap().unwrap(), IoEnded::InputClosed);
        let mut last = Vec::new();
        screen.read_to_end(&mut last).await.unwrap();
        assert_eq!(last, b"bye\r\n");
    }
}
