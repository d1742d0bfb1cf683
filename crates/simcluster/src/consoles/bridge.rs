//! Pipe a console websocket to a byte stream the way virt-handler does: binary frames both
//! ways, text frames dropped, and a close frame when a newer session takes over.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

/// Largest chunk sent in one binary frame.
const CHUNK: usize = 256 * 1024;

/// Why a bridge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    ClientLeft,
    StreamEnded,
    Replaced,
}

/// Pump bytes until either side ends or `replaced` turns true.
pub async fn pump<S>(socket: WebSocket, stream: S, mut replaced: watch::Receiver<bool>) -> Ended
where
    S: AsyncRead + AsyncWrite,
{
    let (mut ws_tx, mut ws_rx) = socket.split();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let ended = {
        let upstream = async {
            while let Some(Ok(message)) = ws_rx.next().await {
                match message {
                    Message::Binary(data) => {
                        let written = async {
                            writer.write_all(&data).await?;
                            writer.flush().await
                        };
                        if written.await.is_err() {
                            return Ended::StreamEnded;
                        }
                    }
                    Message::Close(_) => break,
                    // Text frames are dropped, as virt-handler drops them; pings are answered by axum.
                    _ => {}
                }
            }
            Ended::ClientLeft
        };
        let downstream = async {
            let mut buf = vec![0u8; CHUNK];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return Ended::StreamEnded,
                    Ok(n) => {
                        let frame = Message::Binary(Bytes::copy_from_slice(&buf[..n]));
                        if ws_tx.send(frame).await.is_err() {
                            return Ended::ClientLeft;
                        }
                    }
                }
            }
        };
        tokio::select! {
            ended = upstream => ended,
            ended = downstream => ended,
            _ = replaced.wait_for(|r| *r) => Ended::Replaced,
        }
    };
    let reason = match ended {
        Ended::Replaced => "a newer console session replaced this one",
        Ended::StreamEnded => "the console stream ended",
        Ended::ClientLeft => "",
    };
    let _ = ws_tx
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: reason.into(),
        })))
        .await;
    let _ = writer.shutdown().await;
    ended
}
