//! A byte reader over a websocket's binary frames, for console tests: read exact counts (RFB),
//! big-endian integers, or until some text appears (a serial prompt); counts the text frames
//! and pongs seen and keeps the close frame. Each wait is bounded by [`WAIT_LIMIT`].

use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};

use crate::WAIT_LIMIT;

/// Bytes carried by the binary frames of `socket`, read as a stream.
pub struct Bytes<S> {
    pub socket: S,
    buffer: Vec<u8>,
    /// Bytes of `buffer` already read.
    start: usize,
    /// Text frames seen (a console must never send any).
    pub text_frames: usize,
    pub pongs: usize,
    /// `Some` once closed: the close frame, if one came.
    pub close: Option<Option<CloseFrame>>,
}

impl<S> Bytes<S>
where
    S: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin,
{
    pub fn new(socket: S) -> Self {
        Self {
            socket,
            buffer: Vec::new(),
            start: 0,
            text_frames: 0,
            pongs: 0,
            close: None,
        }
    }

    /// The socket closed (with or without a close frame).
    pub fn closed(&self) -> bool {
        self.close.is_some()
    }

    /// Wait for one more frame; false once the socket closed. Panics after [`WAIT_LIMIT`].
    pub async fn fill(&mut self) -> bool {
        match tokio::time::timeout(WAIT_LIMIT, self.socket.next()).await {
            Err(_) => panic!("no frame within {WAIT_LIMIT:?}"),
            Ok(Some(Ok(Message::Binary(data)))) => {
                // What was read goes: the buffer holds only unread bytes and one frame.
                self.buffer.drain(..self.start);
                self.start = 0;
                self.buffer.extend_from_slice(&data);
                true
            }
            Ok(Some(Ok(Message::Text(_)))) => {
                self.text_frames += 1;
                true
            }
            Ok(Some(Ok(Message::Pong(_)))) => {
                self.pongs += 1;
                true
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                self.close = Some(frame);
                false
            }
            Ok(None) | Ok(Some(Err(_))) => {
                self.close.get_or_insert(None);
                false
            }
            Ok(Some(Ok(_))) => true,
        }
    }

    /// Exactly `n` bytes.
    pub async fn read(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() - self.start < n {
            assert!(
                self.fill().await,
                "the socket closed while {n} bytes were awaited"
            );
        }
        let out = self.buffer[self.start..self.start + n].to_vec();
        self.start += n;
        out
    }

    pub async fn u8(&mut self) -> u8 {
        self.read(1).await[0]
    }

    pub async fn u16(&mut self) -> u16 {
        let b = self.read(2).await;
        u16::from_be_bytes([b[0], b[1]])
    }

    pub async fn u32(&mut self) -> u32 {
        let b = self.read(4).await;
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.socket
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .expect("sent");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .expect("sent");
    }

    /// Read until the text seen in this call contains `wanted`; returns all of it.
    pub async fn read_until(&mut self, wanted: &str) -> String {
        let mut seen = Vec::new();
        loop {
            seen.extend_from_slice(&self.buffer[self.start..]);
            self.start = self.buffer.len();
            let text = String::from_utf8_lossy(&seen).into_owned();
            if text.contains(wanted) {
                return text;
            }
            assert!(
                self.fill().await,
                "closed before {wanted:?} arrived; got {text:?}"
            );
        }
    }

    /// Wait until the other end closes the socket.
    pub async fn wait_closed(&mut self) {
        while self.fill().await {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;

    /// A socket made of two channels: what the test feeds, what the reader sends.
    struct Pipe {
        rx: mpsc::UnboundedReceiver<Result<Message, Error>>,
        tx: mpsc::UnboundedSender<Message>,
    }

    impl Stream for Pipe {
        type Item = Result<Message, Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.rx.poll_next_unpin(cx)
        }
    }

    impl Sink<Message> for Pipe {
        type Error = Error;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn start_send(self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Error> {
            self.tx
                .unbounded_send(item)
                .map_err(|_| Error::ConnectionClosed)
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Error>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_are_read_as_one_stream_of_bytes() {
        let (feed, rx) = mpsc::unbounded();
        let (tx, mut sent) = mpsc::unbounded();
        let mut bytes = Bytes::new(Pipe { rx, tx });
        for frame in [&b"RFB 003"[..], b".008\n\x00\x01", b"login: "] {
            feed.unbounded_send(Ok(Message::Binary(frame.to_vec().into())))
                .unwrap();
        }
        feed.unbounded_send(Ok(Message::text("ignored"))).unwrap();
        assert_eq!(bytes.read(12).await, b"RFB 003.008\n");
        assert_eq!(bytes.u16().await, 1);
        assert_eq!(bytes.read_until("login:").await, "login: ");
        bytes.send(b"root\r").await;
        assert_eq!(
            sent.next().await,
            Some(Message::Binary(b"root\r".to_vec().into()))
        );
        feed.unbounded_send(Ok(Message::Close(None))).unwrap();
        bytes.wait_closed().await;
        assert_eq!(bytes.text_frames, 1);
        assert_eq!(bytes.close, Some(None));
        assert!(bytes.closed());
    }

    /// Reads that straddle frames keep only the unread bytes and one frame (a slow reader's
    /// memory test must measure the gateway, not this reader).
    #[tokio::test]
    async fn what_was_read_is_let_go() {
        let (feed, rx) = mpsc::unbounded();
        let (tx, _sent) = mpsc::unbounded();
        let mut bytes = Bytes::new(Pipe { rx, tx });
        for i in 0..1000u32 {
            feed.unbounded_send(Ok(Message::Binary(vec![(i % 251) as u8; 100].into())))
                .unwrap();
        }
        for _ in 0..600 {
            bytes.read(150).await;
            assert!(
                bytes.buffer.len() <= 250,
                "{} bytes held",
                bytes.buffer.len()
            );
        }
    }
}
