//! The console pump: binary frames both ways between the client's websocket and the upstream
//! console, generic over Sink/Stream halves. Frames already received go out together with one
//! flush (a burst, bounded in bytes); then the pump waits until the writer has taken them, so a
//! slow reader stops the pump reading the other side and backpressure reaches the sender
//! instead of memory.
//! Text frames from the client are sent on as binary (KubeVirt reads binary only); pings are
//! answered by the websocket layer and not forwarded; the client is pinged while idle. One
//! generic half-pump serves both directions.

use std::error::Error as StdError;
use std::time::Duration;

use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Limits of one pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PumpConfig {
    /// The largest message forwarded either way; a larger one ends the session.
    pub max_message: usize,
    /// Ping the client this often (virt-api drops silent clients; idle tabs must stay alive).
    pub keepalive: Option<Duration>,
}

impl Default for PumpConfig {
    fn default() -> Self {
        Self {
            max_message: 16 << 20,
            keepalive: Some(Duration::from_secs(20)),
        }
    }
}

/// Which end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Upstream,
}

/// How a session ended.
#[derive(Debug, thiserror::Error)]
pub enum Ended {
    #[error("the client closed the console ({0:?})")]
    ClientClosed(Option<CloseFrame>),
    #[error("the client went away")]
    ClientGone,
    #[error("the cluster closed the console ({0:?})")]
    UpstreamClosed(Option<CloseFrame>),
    #[error("the cluster's connection ended without a close frame")]
    UpstreamGone,
    #[error("the gateway ended the console ({})", .0.reason)]
    Stopped(CloseFrame),
    #[error("a {size}-byte message from the {from:?} is over the {limit}-byte limit")]
    TooLarge {
        from: Side,
        size: usize,
        limit: usize,
    },
    #[error("the {side:?} connection failed: {source}")]
    Failed {
        side: Side,
        #[source]
        source: BoxError,
    },
}

impl Side {
    fn other(self) -> Self {
        match self {
            Self::Client => Self::Upstream,
            Self::Upstream => Self::Client,
        }
    }
}

impl Ended {
    /// The side whose end (or fault) ended the session; `None` when it was stopped.
    pub fn side(&self) -> Option<Side> {
        match self {
            Self::ClientClosed(_) | Self::ClientGone => Some(Side::Client),
            Self::UpstreamClosed(_) | Self::UpstreamGone => Some(Side::Upstream),
            Self::TooLarge { from, .. } => Some(*from),
            Self::Failed { side, .. } => Some(*side),
            Self::Stopped(_) => None,
        }
    }

    fn closed(side: Side, frame: Option<CloseFrame>) -> Self {
        match side {
            Side::Client => Self::ClientClosed(frame),
            Side::Upstream => Self::UpstreamClosed(frame),
        }
    }

    fn gone(side: Side) -> Self {
        match side {
            Side::Client => Self::ClientGone,
            Side::Upstream => Self::UpstreamGone,
        }
    }
}

fn frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// The close frame the client gets for `ended`: the stop's reason, or what the upstream's end
/// means; `None` when the client itself ended the session.
pub fn client_close(ended: &Ended) -> Option<CloseFrame> {
    match ended {
        Ended::Stopped(reason) => Some(reason.clone()),
        Ended::UpstreamClosed(theirs) => Some(
            theirs
                .clone()
                .unwrap_or_else(|| frame(CloseCode::Away, "the console was closed by the cluster")),
        ),
        Ended::UpstreamGone => Some(frame(CloseCode::Away, "the console's connection ended")),
        Ended::Failed {
            side: Side::Upstream,
            ..
        } => Some(frame(CloseCode::Error, "the console's connection failed")),
        Ended::TooLarge {
            from: Side::Upstream,
            ..
        } => Some(frame(CloseCode::Size, "message too large")),
        _ => None,
    }
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Binary(b) => b.len(),
        Message::Text(t) => t.len(),
        _ => 0,
    }
}

/// One direction: messages from `rx` (the `from` side) to `tx`, binary only, each within
/// `limit`; `tx` is pinged every `keepalive` while idle. Returns how that direction ended.
async fn half<R, W, E>(
    rx: &mut R,
    tx: &mut W,
    from: Side,
    limit: usize,
    keepalive: Option<Duration>,
) -> Ended
where
    R: Stream<Item = Result<Message, E>> + Unpin,
    W: Sink<Message> + Unpin,
    W::Error: StdError + Send + Sync + 'static,
    E: StdError + Send + Sync + 'static,
{
    let failed = |side: Side, source: BoxError| Ended::Failed { side, source };
    let mut keepalive = keepalive.map(|every| {
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    loop {
        let tick = async {
            match keepalive.as_mut() {
                Some(interval) => interval.tick().await,
                None => std::future::pending().await,
            }
        };
        let message = tokio::select! {
            message = rx.next() => message,
            _ = tick => {
                if let Err(e) = tx.send(Message::Ping(Default::default())).await {
                    return failed(from.other(), Box::new(e));
                }
                continue;
            }
        };
        let mut burst = match admit(message, from, limit) {
            Step::Forward(message) => message,
            Step::Skip => continue,
            Step::End(ended) => return ended,
        };
        // What else is ready now goes out with it: one flush (one write) per burst, and at
        // most BURST bytes written without waiting for the other side to take them.
        let mut written = 0;
        loop {
            written += payload_len(&burst);
            if let Err(e) = tx.feed(burst).await {
                return failed(from.other(), Box::new(e));
            }
            if written >= BURST {
                break;
            }
            match rx.next().now_or_never() {
                Some(message) => match admit(message, from, limit) {
                    Step::Forward(message) => burst = message,
                    Step::Skip => break,
                    Step::End(ended) => {
                        let _ = tx.flush().await;
                        return ended;
                    }
                },
                None => break,
            }
        }
        if let Err(e) = tx.flush().await {
            return failed(from.other(), Box::new(e));
        }
    }
}

/// Bytes forwarded in one burst before a flush.
const BURST: usize = 256 << 10;

/// What to do with one message read from the `from` side.
enum Step {
    Forward(Message),
    /// Pings, pongs: the websocket layer answers them.
    Skip,
    End(Ended),
}

fn admit<E>(message: Option<Result<Message, E>>, from: Side, limit: usize) -> Step
where
    E: StdError + Send + Sync + 'static,
{
    match message {
        Some(Ok(message @ (Message::Binary(_) | Message::Text(_)))) => {
            let size = payload_len(&message);
            if size > limit {
                return Step::End(Ended::TooLarge { from, size, limit });
            }
            Step::Forward(match message {
                Message::Text(text) => Message::Binary(text.into()),
                other => other,
            })
        }
        Some(Ok(Message::Close(frame))) => Step::End(Ended::closed(from, frame)),
        Some(Ok(_)) => Step::Skip,
        Some(Err(e)) => Step::End(Ended::Failed {
            side: from,
            source: Box::new(e),
        }),
        None => Step::End(Ended::gone(from)),
    }
}

/// Forward both ways until one side ends or `stop` resolves. The upstream is told (a close)
/// when the client ended; the client is told nothing here: the caller chooses its close frame
/// ([`client_close`], or a reason of its own) and may keep the client for a new upstream.
pub async fn forward<CR, CW, UR, UW, CE, UE, S>(
    client_rx: &mut CR,
    client_tx: &mut CW,
    upstream_rx: &mut UR,
    upstream_tx: &mut UW,
    config: PumpConfig,
    stop: S,
) -> Ended
where
    S: Future<Output = CloseFrame>,
    CR: Stream<Item = Result<Message, CE>> + Unpin,
    CW: Sink<Message> + Unpin,
    CW::Error: StdError + Send + Sync + 'static,
    UR: Stream<Item = Result<Message, UE>> + Unpin,
    UW: Sink<Message> + Unpin,
    UW::Error: StdError + Send + Sync + 'static,
    CE: StdError + Send + Sync + 'static,
    UE: StdError + Send + Sync + 'static,
{
    let limit = config.max_message;
    let ended = tokio::select! {
        ended = half(upstream_rx, client_tx, Side::Upstream, limit, config.keepalive) => ended,
        ended = half(client_rx, upstream_tx, Side::Client, limit, None) => ended,
        frame = stop => Ended::Stopped(frame),
    };
    if ended.side() == Some(Side::Client) {
        let _ = upstream_tx.send(Message::Close(None)).await;
    }
    ended
}

/// Run until one side ends; the other side is told (a close frame) where it can be.
/// When `stop` resolves, the client gets its close frame (the reason, e.g. a takeover) and the
/// session ends.
pub async fn pump<CR, CW, UR, UW, CE, UE, S>(
    mut client_rx: CR,
    mut client_tx: CW,
    mut upstream_rx: UR,
    mut upstream_tx: UW,
    config: PumpConfig,
    stop: S,
) -> Ended
where
    S: Future<Output = CloseFrame>,
    CR: Stream<Item = Result<Message, CE>> + Unpin,
    CW: Sink<Message> + Unpin,
    CW::Error: StdError + Send + Sync + 'static,
    UR: Stream<Item = Result<Message, UE>> + Unpin,
    UW: Sink<Message> + Unpin,
    UW::Error: StdError + Send + Sync + 'static,
    CE: StdError + Send + Sync + 'static,
    UE: StdError + Send + Sync + 'static,
{
    let ended = forward(
        &mut client_rx,
        &mut client_tx,
        &mut upstream_rx,
        &mut upstream_tx,
        config,
        stop,
    )
    .await;
    if let Some(frame) = client_close(&ended) {
        let _ = client_tx.send(Message::Close(Some(frame))).await;
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use std::convert::Infallible;

    type Rx = mpsc::Receiver<Result<Message, Infallible>>;

    struct Ends {
        /// The test plays the client: what it sends, what it receives.
        client_in: mpsc::Sender<Result<Message, Infallible>>,
        client_out: mpsc::Receiver<Message>,
        upstream_in: mpsc::Sender<Result<Message, Infallible>>,
        upstream_out: mpsc::Receiver<Message>,
        pump: tokio::task::JoinHandle<Ended>,
        stop: Option<tokio::sync::oneshot::Sender<CloseFrame>>,
    }

    fn start(config: PumpConfig) -> Ends {
        let (client_in, client_rx): (_, Rx) = mpsc::channel(1);
        let (client_tx, client_out) = mpsc::channel(1);
        let (upstream_in, upstream_rx): (_, Rx) = mpsc::channel(1);
        let (upstream_tx, upstream_out) = mpsc::channel(1);
        let (stop, stopped) = tokio::sync::oneshot::channel::<CloseFrame>();
        let stopped = async move {
            match stopped.await {
                Ok(frame) => frame,
                Err(_) => std::future::pending().await,
            }
        };
        let pump = tokio::spawn(pump(
            client_rx,
            client_tx,
            upstream_rx,
            upstream_tx,
            config,
            stopped,
        ));
        Ends {
            stop: Some(stop),
            client_in,
            client_out,
            upstream_in,
            upstream_out,
            pump,
        }
    }

    fn no_keepalive() -> PumpConfig {
        PumpConfig {
            keepalive: None,
            ..PumpConfig::default()
        }
    }

    fn binary(bytes: &[u8]) -> Message {
        Message::Binary(bytes.to_vec().into())
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_as_binary_and_pings_stay_local() {
        let mut ends = start(no_keepalive());
        ends.upstream_in
            .send(Ok(binary(b"RFB 003.008\n")))
            .await
            .unwrap();
        assert_eq!(ends.client_out.next().await, Some(binary(b"RFB 003.008\n")));
        ends.client_in
            .send(Ok(Message::Ping(b"p".to_vec().into())))
            .await
            .unwrap();
        ends.client_in
            .send(Ok(Message::text("root\r")))
            .await
            .unwrap();
        ends.client_in.send(Ok(binary(&[1]))).await.unwrap();
        assert_eq!(
            ends.upstream_out.next().await,
            Some(binary(b"root\r")),
            "text is sent as binary, the ping not at all"
        );
        assert_eq!(ends.upstream_out.next().await, Some(binary(&[1])));
        ends.upstream_in
            .send(Ok(Message::Pong(Default::default())))
            .await
            .unwrap();
        ends.upstream_in.send(Ok(binary(b"x"))).await.unwrap();
        assert_eq!(ends.client_out.next().await, Some(binary(b"x")));
        // The upstream closes: the client gets its reason.
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "VM stopped".into(),
        };
        ends.upstream_in
            .send(Ok(Message::Close(Some(frame.clone()))))
            .await
            .unwrap();
        assert_eq!(
            ends.client_out.next().await,
            Some(Message::Close(Some(frame)))
        );
        assert!(
            matches!(ends.pump.await.unwrap(), Ended::UpstreamClosed(Some(f)) if f.reason == "VM stopped")
        );
    }

    #[tokio::test]
    async fn a_stop_tells_the_client_why() {
        let mut ends = start(no_keepalive());
        let frame = CloseFrame {
            code: CloseCode::Library(4001),
            reason: "taken over by another session".into(),
        };
        ends.stop.take().unwrap().send(frame.clone()).unwrap();
        assert_eq!(
            ends.client_out.next().await,
            Some(Message::Close(Some(frame)))
        );
        assert!(
            matches!(ends.pump.await.unwrap(), Ended::Stopped(f) if f.reason == "taken over by another session")
        );
    }

    #[tokio::test]
    async fn the_client_leaving_closes_upstream() {
        let mut ends = start(no_keepalive());
        drop(ends.client_in);
        assert_eq!(ends.upstream_out.next().await, Some(Message::Close(None)));
        assert!(matches!(ends.pump.await.unwrap(), Ended::ClientGone));
    }

    #[tokio::test]
    async fn an_upstream_gone_without_a_close_frame_is_told_to_the_client() {
        let mut ends = start(no_keepalive());
        drop(ends.upstream_in);
        let Some(Message::Close(Some(frame))) = ends.client_out.next().await else {
            panic!("a close frame")
        };
        assert_eq!(frame.code, CloseCode::Away);
        assert!(matches!(ends.pump.await.unwrap(), Ended::UpstreamGone));
    }

    #[tokio::test]
    async fn oversized_messages_end_the_session() {
        let mut ends = start(PumpConfig {
            max_message: 4,
            keepalive: None,
        });
        ends.client_in.send(Ok(binary(b"12345"))).await.unwrap();
        assert_eq!(ends.upstream_out.next().await, Some(Message::Close(None)));
        assert!(matches!(
            ends.pump.await.unwrap(),
            Ended::TooLarge {
                from: Side::Client,
                size: 5,
                limit: 4
            }
        ));
    }

    /// Time is paused and only advances when every task waits: a sleep here means "once the
    /// pump can make no more progress", not a guess at how long it takes.
    #[tokio::test(start_paused = true)]
    async fn a_slow_client_slows_the_upstream() {
        let mut ends = start(no_keepalive());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let mut upstream_in = ends.upstream_in.clone();
        let feeder = tokio::spawn(async move {
            for i in 0..1000u32 {
                upstream_in
                    .send(Ok(binary(&i.to_be_bytes())))
                    .await
                    .unwrap();
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let stuck_at = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            stuck_at <= 6,
            "the upstream was read only as far as the client's buffers allow ({stuck_at})"
        );
        // Reading resumes the flow, in order.
        for i in 0..1000u32 {
            assert_eq!(ends.client_out.next().await, Some(binary(&i.to_be_bytes())));
        }
        feeder.await.unwrap();
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1000);
    }

    /// A sink that keeps what it is given and counts its flushes.
    #[derive(Default)]
    struct Recording {
        messages: Vec<Message>,
        flushes: usize,
    }

    impl Sink<Message> for Recording {
        type Error = Infallible;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn start_send(mut self: std::pin::Pin<&mut Self>, item: Message) -> Result<(), Infallible> {
            self.messages.push(item);
            Ok(())
        }
        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Infallible>> {
            self.flushes += 1;
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Infallible>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Frames that are already there go out in order with one flush per burst, not one each;
    /// a burst stops at BURST bytes.
    #[tokio::test]
    async fn ready_frames_go_out_together_in_bursts() {
        let frames: Vec<Result<Message, Infallible>> =
            (0..40u8).map(|i| Ok(binary(&[i; 16 << 10]))).collect();
        let mut upstream_rx = futures::stream::iter(frames);
        let mut client = Recording::default();
        let mut client_rx = futures::stream::pending::<Result<Message, Infallible>>();
        let mut upstream_tx = Recording::default();
        let ended = forward(
            &mut client_rx,
            &mut client,
            &mut upstream_rx,
            &mut upstream_tx,
            no_keepalive(),
            std::future::pending(),
        )
        .await;
        assert!(matches!(ended, Ended::UpstreamGone), "{ended}");
        let expected: Vec<Message> = (0..40u8).map(|i| binary(&[i; 16 << 10])).collect();
        assert_eq!(client.messages, expected);
        // 640 KiB in bursts of at most 256 KiB (16 frames): three flushes, not forty.
        assert_eq!(client.flushes, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_client_is_pinged() {
        let mut ends = start(PumpConfig {
            keepalive: Some(Duration::from_secs(20)),
            ..PumpConfig::default()
        });
        let started = tokio::time::Instant::now();
        assert!(matches!(
            ends.client_out.next().await,
            Some(Message::Ping(_))
        ));
        assert!(started.elapsed() >= Duration::from_secs(20));
        assert!(matches!(
            ends.client_out.next().await,
            Some(Message::Ping(_))
        ));
    }
}
