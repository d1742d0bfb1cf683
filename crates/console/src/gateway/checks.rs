//! The checks made before a websocket upgrade: a websocket request, a loopback Host naming our
//! port, an Origin from the allow-list, a valid token. Each failure is an HTTP refusal.

use http::{HeaderMap, StatusCode, header};

use super::tokens::TokenError;

/// Why a request was refused before the upgrade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only websocket upgrades are served here")]
    NotWebsocket,
    #[error("unknown path")]
    NotFound,
    #[error("the Host header must name this loopback server")]
    Host,
    #[error("the Origin is not allowed")]
    Origin,
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotWebsocket => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Host | Self::Origin => StatusCode::FORBIDDEN,
            Self::Token(TokenError::Random) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Token(_) => StatusCode::UNAUTHORIZED,
        }
    }
}

fn value(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Host` must be `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` (DNS rebinding sends the
/// attacker's host name).
pub fn check_host(headers: &HeaderMap, port: u16) -> Result<(), Refusal> {
    let host = value(headers, header::HOST).ok_or(Refusal::Host)?;
    let (name, given_port) = host.rsplit_once(':').ok_or(Refusal::Host)?;
    let loopback = matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    );
    if loopback && given_port == port.to_string() {
        Ok(())
    } else {
        Err(Refusal::Host)
    }
}

/// The Origin must be present and equal (ASCII case-insensitively) one of `allowed`.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), Refusal> {
    let origin = value(headers, header::ORIGIN).ok_or(Refusal::Origin)?;
    let origin = origin.trim_end_matches('/');
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        Ok(())
    } else {
        Err(Refusal::Origin)
    }
}

/// A websocket upgrade (GET, `Upgrade: websocket`, version 13, a key).
pub fn check_websocket(method: &http::Method, headers: &HeaderMap) -> Result<(), Refusal> {
    let has = |name, wanted: &str| {
        value(headers, name).is_some_and(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(wanted))
        })
    };
    if method == http::Method::GET
        && has(header::UPGRADE, "websocket")
        && has(header::CONNECTION, "upgrade")
        && value(headers, header::SEC_WEBSOCKET_VERSION) == Some("13")
        && headers.contains_key(header::SEC_WEBSOCKET_KEY)
    {
        Ok(())
    } else {
        Err(Refusal::NotWebsocket)
    }
}

/// The offered subprotocols, in order.
pub fn offered_protocols(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, v) in pairs {
            map.append(name.clone(), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_loopback_hosts_with_our_port() {
        for ok in [
            "127.0.0.1:4000",
            "localhost:4000",
            "[::1]:4000",
            "LOCALHOST:4000",
        ] {
            assert_eq!(
                check_host(&headers(&[(header::HOST, ok)]), 4000),
                Ok(()),
                "{ok}"
            );
        }
        for bad in [
            "evil.example:4000",
            "127.0.0.1:4001",
            "127.0.0.1",
            "localhost.evil:4000",
            "10.0.0.1:4000",
        ] {
            assert_eq!(
                check_host(&headers(&[(header::HOST, bad)]), 4000),
                Err(Refusal::Host),
                "{bad}"
            );
        }
        assert_eq!(check_host(&HeaderMap::new(), 4000), Err(Refusal::Host));
    }

    #[test]
    fn origins_must_be_listed() {
        let allowed = vec![
            "tauri://localhost".to_string(),
            "http://127.0.0.1:5173".to_string(),
        ];
        assert_eq!(
            check_origin(&headers(&[(header::ORIGIN, "tauri://localhost")]), &allowed),
            Ok(())
        );
        assert_eq!(
            check_origin(
                &headers(&[(header::ORIGIN, "http://127.0.0.1:5173/")]),
                &allowed
            ),
            Ok(())
        );
        assert_eq!(
            check_origin(
                &headers(&[(header::ORIGIN, "http://evil.example")]),
                &allowed
            ),
            Err(Refusal::Origin)
        );
        assert_eq!(
            check_origin(&headers(&[(header::ORIGIN, "null")]), &allowed),
            Err(Refusal::Origin)
        );
        assert_eq!(
            check_origin(&HeaderMap::new(), &allowed),
            Err(Refusal::Origin),
            "no Origin, no console"
        );
        assert_eq!(Refusal::Origin.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Refusal::Token(TokenError::Expired).status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn protocols_are_split() {
        let map = headers(&[
            (header::SEC_WEBSOCKET_PROTOCOL, "binary, vmdeck-console.ab"),
            (header::SEC_WEBSOCKET_PROTOCOL, "x"),
        ]);
        assert_eq!(
            offered_protocols(&map),
            ["binary", "vmdeck-console.ab", "x"]
        );
    }
}
