//! The machinery behind the call table: one declaration per core call becomes the dispatcher both
//! transports use (Tauri IPC, the dev server), the list of calls with their TypeScript types, and
//! the set of types the TypeScript bindings must contain. The table itself is in `call_table`.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::ui_error::UiError;

/// Which transport a call came through: some requests are only allowed from the desktop app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Tauri IPC inside the desktop app.
    Ipc,
    /// The browser dev server over HTTP.
    Http,
}

/// A plain call answers once; a stream sends events first, then its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Call,
    Stream,
}

/// One declared call as the transports and the TypeScript generator see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSpec {
    /// snake_case name: the Tauri command and `POST /api/<name>`.
    pub name: &'static str,
    pub kind: CallKind,
    /// The declaration's doc comment.
    pub doc: String,
    /// TypeScript type of the request (`null` for none), the answer and (streams) each event.
    pub request: String,
    pub answer: String,
    pub event: Option<String>,
}

/// Capacity of a stream's event queue: a slow reader slows the producer, never grows memory.
pub const EVENT_QUEUE: usize = 64;

/// The untyped end of a stream's event queue, drained by the transport.
pub type EventSender = mpsc::Sender<Value>;

/// Makes the bounded queue a stream call sends its events into.
pub fn event_queue() -> (EventSender, mpsc::Receiver<Value>) {
    mpsc::channel(EVENT_QUEUE)
}

/// Where a stream call sends its typed events.
pub struct Events<T> {
    sender: EventSender,
    _event: PhantomData<fn(T)>,
}

impl<T: Serialize> Events<T> {
    pub fn new(sender: EventSender) -> Self {
        Self {
            sender,
            _event: PhantomData,
        }
    }

    /// Sends one event, waiting while the queue is full. Fails with `stream_closed` once the
    /// UI has gone away, so the call can stop its work.
    pub async fn send(&self, event: T) -> Result<(), UiError> {
        let value = serde_json::to_value(event).map_err(UiError::internal)?;
        self.sender
            .send(value)
            .await
            .map_err(|_| UiError::new("stream_closed", "the window stopped listening"))
    }

    /// Resolves once the UI has stopped listening, so a stream with nothing to send stops too.
    pub async fn closed(&self) {
        self.sender.closed().await
    }
}

/// Requests that may name a file on this machine: only the desktop app may send those.
pub trait NamesLocalPath {
    fn names_local_path(&self) -> bool;
}

/// Over HTTP (the browser build) files are only read from pasted text and written to the app's
/// profiles folder: a page must not make the dev server touch arbitrary paths.
pub fn refuse_paths_over_http(via: Via, request: &impl NamesLocalPath) -> Result<(), UiError> {
    if via == Via::Http && request.names_local_path() {
        return Err(UiError::new(
            "path_not_allowed",
            "the browser build cannot open or write files by path; paste the kubeconfig, or give the profile a name (it is kept in the app's profiles folder)",
        ));
    }
    Ok(())
}

/// Reads a call's request; a call without one takes only `null`.
pub fn decode<T: DeserializeOwned>(method: &str, request: Value) -> Result<T, UiError> {
    serde_json::from_value(request).map_err(|err| {
        UiError::bad_request(format_args!("the request of {method} does not fit: {err}"))
    })
}

/// Turns a call's answer into JSON for the transport.
pub fn encode<T: Serialize>(answer: T) -> Result<Value, UiError> {
    serde_json::to_value(answer).map_err(UiError::internal)
}

/// The answer to a name that is not in the table.
pub fn unknown_call(method: &str, known: &[&str]) -> UiError {
    UiError::new(
        "unknown_method",
        format!(
            "no call named \"{method}\"; known calls: {}",
            known.join(", ")
        ),
    )
}

/// Declares the core's calls. Each entry names the call, its request and answer types (and for
/// a stream its event type), optional guards, and the expression that runs it, in which `.await`
/// may be used. Generates `call`, `stream`, `call_specs`, `kind_of`, `CALL_NAMES` and
/// `visit_types`.
macro_rules! core_calls {
    (
        calls {
            $(
                $(#[doc = $cdoc:literal])*
                $cname:ident ( $creq:ty ) -> $cans:ty $( [ $cguard:path ] )?
                    = | $capp:ident , $creqv:pat_param | $cbody:expr ;
            )*
        }
        streams {
            $(
                $(#[doc = $sdoc:literal])*
                $sname:ident ( $sreq:ty ) => $sevent:ty , -> $sans:ty $( [ $sguard:path ] )?
                    = | $sapp:ident , $sreqv:pat_param , $sevents:ident | $sbody:expr ;
            )*
        }
    ) => {
        /// Every call and stream by name, in declaration order.
        pub const CALL_NAMES: &[&str] = &[$(stringify!($cname),)* $(stringify!($sname),)*];

        /// Whether `method` is a plain call, a stream, or not declared at all.
        pub fn kind_of(method: &str) -> Option<$crate::calls::CallKind> {
            match method {
                $(stringify!($cname) => Some($crate::calls::CallKind::Call),)*
                $(stringify!($sname) => Some($crate::calls::CallKind::Stream),)*
                _ => None,
            }
        }

        /// Runs the plain call `method` with its JSON request and returns its JSON answer.
        pub async fn call(
            app: &$crate::app::App,
            via: $crate::calls::Via,
            method: &str,
            request: serde_json::Value,
        ) -> Result<serde_json::Value, $crate::ui_error::UiError> {
            let _ = via;
            match method {
                $(
                    stringify!($cname) => {
                        let request: $creq = $crate::calls::decode(method, request)?;
                        $( $cguard(via, &request)?; )?
                        let $capp = app;
                        let $creqv = request;
                        let answer: Result<$cans, $crate::ui_error::UiError> = $cbody;
                        $crate::calls::encode(answer?)
                    }
                )*
                other => Err($crate::calls::unknown_call(other, CALL_NAMES)),
            }
        }

        /// Runs the stream `method`: its events go into `events`, its answer is returned.
        pub async fn stream(
            app: &$crate::app::App,
            via: $crate::calls::Via,
            method: &str,
            request: serde_json::Value,
            events: $crate::calls::EventSender,
        ) -> Result<serde_json::Value, $crate::ui_error::UiError> {
            let _ = (via, &events);
            match method {
                $(
                    stringify!($sname) => {
                        let request: $sreq = $crate::calls::decode(method, request)?;
                        $( $sguard(via, &request)?; )?
                        let $sapp = app;
                        let $sreqv = request;
                        let $sevents = $crate::calls::Events::<$sevent>::new(events);
                        let answer: Result<$sans, $crate::ui_error::UiError> = $sbody;
                        $crate::calls::encode(answer?)
                    }
                )*
                other => Err($crate::calls::unknown_call(other, CALL_NAMES)),
            }
        }

        /// Every declared call with its TypeScript request, answer and event types.
        pub fn call_specs() -> Vec<$crate::calls::CallSpec> {
            let cfg = ts_rs::Config::new();
            let _ = &cfg;
            vec![
                $(
                    $crate::calls::CallSpec {
                        name: stringify!($cname),
                        kind: $crate::calls::CallKind::Call,
                        doc: { let lines: &[&str] = &[$($cdoc),*]; lines.join("\n").trim().to_string() },
                        request: <$creq as ts_rs::TS>::name(&cfg),
                        answer: <$cans as ts_rs::TS>::name(&cfg),
                        event: None,
                    },
                )*
                $(
                    $crate::calls::CallSpec {
                        name: stringify!($sname),
                        kind: $crate::calls::CallKind::Stream,
                        doc: { let lines: &[&str] = &[$($sdoc),*]; lines.join("\n").trim().to_string() },
                        request: <$sreq as ts_rs::TS>::name(&cfg),
                        answer: <$sans as ts_rs::TS>::name(&cfg),
                        event: Some(<$sevent as ts_rs::TS>::name(&cfg)),
                    },
                )*
            ]
        }

        /// Visits every type a call exchanges (requests, answers, events, and the errors).
        pub fn visit_types(visitor: &mut impl ts_rs::TypeVisitor) {
            visitor.visit::<$crate::ui_error::UiError>();
            $( visitor.visit::<$creq>(); visitor.visit::<$cans>(); )*
            $( visitor.visit::<$sreq>(); visitor.visit::<$sevent>(); visitor.visit::<$sans>(); )*
        }
    };
}

pub(crate) use core_calls;
