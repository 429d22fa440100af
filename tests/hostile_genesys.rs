//! Hostile Genesys answers: a tiny loopback server (tokio `TcpListener` on 127.0.0.1:0) answers the
//! client with malformed JSON, wrong types, huge and endless bodies, truncated bodies, deep nesting,
//! missing headers, garbage instead of HTTP, and silence. The client must not panic, not hang (the
//! request timeout and the retry limit end every call) and not grow its memory past its limits;
//! every failure is an `ApiError` with the status, the message and the correlation id when known.
//!
//! Cases of the random property: `PROPTEST_CASES` (default 24 here).

use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zd2gc::client::{ApiError, Client, Credentials, Limits, Secret, retry::Policy};
use zd2gc::genesys::Endpoints;

/// What the server does with the next API request (the token request is always answered well).
#[derive(Clone, Debug)]
enum Script {
    /// Write these bytes, then close.
    Raw(Vec<u8>),
    /// Write this head, then body chunks forever.
    Endless(Vec<u8>),
    /// Accept and read the request, never answer.
    Silent,
}

struct Server {
    rt: tokio::runtime::Runtime,
    base: String,
    script: Arc<Mutex<Script>>,
    api_requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    fn start(script: Script) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let script = Arc::new(Mutex::new(script));
        let api_requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (s, n) = (script.clone(), api_requests.clone());
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (s, n) = (s.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = serve(sock, s, n).await;
                });
            }
        });
        Server {
            rt,
            base,
            script,
            api_requests,
        }
    }

    fn set(&self, script: Script) {
        *self.script.lock().unwrap() = script;
    }

    fn client(&self, total: Duration) -> Client {
        let mut c = Client::with_timeouts(
            Endpoints::single(&self.base),
            Credentials {
                client_id: "hostile".into(),
                secret: Secret::new("s3cr3t-zd2gc-canary-hostile"),
            },
            Duration::from_secs(2),
            total,
        )
        .unwrap();
        c.policy = Policy {
            max_retries: 2,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(50),
        };
        c.limits = Limits {
            answer: 4 << 20,
            download: 8 << 20,
            small: 64 << 10,
        };
        c
    }

    fn get(&self, c: &Client) -> (Result<serde_json::Value, ApiError>, Duration) {
        let t = Instant::now();
        let r = self
            .rt
            .block_on(c.get::<serde_json::Value>("/api/v2/workforcemanagement/businessunits"));
        (r, t.elapsed())
    }
}

async fn serve(
    mut sock: tokio::net::TcpStream,
    script: Arc<Mutex<Script>>,
    n: Arc<std::sync::atomic::AtomicUsize>,
) -> std::io::Result<()> {
    loop {
        // Read one request: the head, then Content-Length bytes.
        let mut buf = Vec::new();
        let mut b = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let k = sock.read(&mut b).await?;
            if k == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&b[..k]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let k = sock.read(&mut b).await?;
            if k == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&b[..k]);
        }
        if head.starts_with("post /oauth/token") {
            let body = r#"{"access_token":"tok-zd2gc-canary-bearer","token_type":"bearer","expires_in":3600}"#;
            sock.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await?;
            continue;
        }
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let s = script.lock().unwrap().clone();
        match s {
            Script::Raw(bytes) => {
                sock.write_all(&bytes).await?;
                let _ = sock.shutdown().await;
                return Ok(());
            }
            Script::Endless(head) => {
                sock.write_all(&head).await?;
                let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, "[".repeat(64 << 10));
                loop {
                    sock.write_all(chunk.as_bytes()).await?;
                }
            }
            Script::Silent => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Ok(());
            }
        }
    }
}

fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A failure is a diagnostic: it names the call, carries a message, and shows as text without any
/// control character (a hostile server must not drive the operator's terminal).
fn diagnostic(e: &ApiError) -> String {
    let s = e.to_string();
    assert!(s.starts_with("GET /api/v2/"), "{s}");
    assert!(!e.message.trim().is_empty(), "{e:?}");
    assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
    assert!(!s.contains("s3cr3t-zd2gc-canary"), "{s}");
    assert!(!s.contains("tok-zd2gc-canary"), "{s}");
    s
}

#[test]
fn hostile_answers_end_in_diagnostics_quickly() {
    let srv = Server::start(Script::Silent);
    let c = srv.client(Duration::from_secs(5));
    let json = [("content-type", "application/json")];
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Script, Option<u16>, &str)> = vec![
        (
            "malformed JSON",
            Script::Raw(answer("200 OK", &json, b"{\"entities\": [1, 2,")),
            Some(200),
            "unreadable answer",
        ),
        (
            "wrong types",
            Script::Raw(answer("200 OK", &json, b"[\"not\", \"an\", {\"object\": 1}]")),
            None,
            "",
        ),
        (
            "non-JSON content type",
            Script::Raw(answer(
                "200 OK",
                &[("content-type", "text/html")],
                b"<html><body>Gateway login</body></html>",
            )),
            Some(200),
            "unreadable answer",
        ),
        (
            "nested 100k deep",
            Script::Raw(answer("200 OK", &json, deep.as_bytes())),
            Some(200),
            "recursion limit",
        ),
        (
            "truncated body",
            Script::Raw(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"entities\":["
                    .to_vec(),
            ),
            Some(200),
            "cut short",
        ),
        (
            "12 MB body (limit 4 MiB)",
            Script::Raw(answer("200 OK", &json, &vec![b' '; 12 << 20])),
            Some(200),
            "too large",
        ),
        (
            "10 GB announced",
            Script::Raw(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n[[[["
                    .to_vec(),
            ),
            Some(200),
            "too large",
        ),
        (
            "endless chunked body",
            Script::Endless(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                    .to_vec(),
            ),
            Some(200),
            "too large",
        ),
        (
            "429 without Retry-After, forever",
            Script::Raw(answer("429 Too Many Requests", &json, b"{}")),
            Some(429),
            "",
        ),
        (
            "429 with an absurd Retry-After",
            Script::Raw(answer(
                "429 Too Many Requests",
                &[("retry-after", "99999999999999999999999")],
                b"",
            )),
            Some(429),
            "",
        ),
        (
            "503 forever",
            Script::Raw(answer("503 Service Unavailable", &[], b"")),
            Some(503),
            "",
        ),
        (
            "500 with escape sequences and a correlation id",
            Script::Raw(answer(
                "500 Internal Server Error",
                &[("ININ-Correlation-Id", "corr-1234")],
                b"{\"message\":\"boom \\u001b[2J\\u001b]0;pwned\\u0007\",\"code\":\"x\\u001b[31m\",\"status\":\"500\"}",
            )),
            Some(500),
            "boom",
        ),
        (
            "400 with an error body of the wrong types",
            Script::Raw(answer(
                "400 Bad Request",
                &[("ININ-Correlation-Id", "corr-5678")],
                b"{\"message\": 7, \"code\": [], \"contextId\": {}}",
            )),
            Some(400),
            "message",
        ),
        (
            "huge error body",
            Script::Raw(answer("500 Internal Server Error", &[], &vec![b'x'; 3 << 20])),
            Some(500),
            "too large",
        ),
        (
            "garbage instead of HTTP",
            Script::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe".to_vec()),
            None,
            "",
        ),
        ("connection closed at once", Script::Raw(vec![]), None, ""),
    ];
    for (name, script, status, needle) in cases {
        srv.set(script);
        let (r, took) = srv.get(&c);
        // (Silence is `every_request_has_timeouts`.)
        assert!(took < Duration::from_secs(10), "{name}: took {took:?}");
        match r {
            Ok(v) => {
                // A well-formed answer of another shape reaches the caller's typed parse instead.
                assert_eq!(name, "wrong types", "{name}: accepted {v}");
                let typed = srv
                    .rt
                    .block_on(c.get::<zd2gc::genesys::model::BusinessUnitResponse>(
                        "/api/v2/workforcemanagement/businessunits",
                    ));
                let e = typed.expect_err("wrong types must not parse");
                let s = diagnostic(&e);
                assert!(s.contains("unreadable answer"), "{name}: {s}");
            }
            Err(e) => {
                let s = diagnostic(&e);
                assert_eq!(e.status, status, "{name}: {s}");
                assert!(s.contains(needle), "{name}: {s}");
                if name.contains("correlation") {
                    assert_eq!(e.context_id, "corr-1234", "{name}: {s}");
                    assert_eq!(e.code, "x [31m");
                }
                if name.starts_with("400") {
                    assert_eq!(e.context_id, "corr-5678", "{name}: {s}");
                }
            }
        }
    }
}

#[test]
fn downloads_are_capped() {
    let srv = Server::start(Script::Silent);
    let c = srv.client(Duration::from_secs(5));
    let url = format!("{}/download/abc", srv.base);
    for (script, needle) in [
        (
            Script::Endless(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec()),
            "too large",
        ),
        (
            Script::Raw(answer("200 OK", &[], &vec![b'7'; 9 << 20])),
            "too large",
        ),
        (Script::Raw(answer("200 OK", &[], b"{\"x\":")), "unreadable"),
    ] {
        srv.set(script);
        let e = srv
            .rt
            .block_on(c.download::<serde_json::Value>(&url))
            .expect_err("refused");
        let s = e.to_string();
        assert!(s.contains(needle), "{s}");
        assert!(
            !s.contains("/download/abc"),
            "a signed URL must not be shown: {s}"
        );
    }
}

#[test]
fn a_hostile_token_endpoint_is_a_diagnostic() {
    let srv = Server::start(Script::Silent);
    // Log in somewhere that answers the token request with garbage of every kind.
    for body in [
        answer("200 OK", &[], b"{\"access_token\": 5}"),
        answer("200 OK", &[], &vec![b'{'; 2 << 20]),
        answer("401 Unauthorized", &[], b"{\"error\":\"invalid_client\"}"),
        b"HTTP/1.1 200 OK\r\ncontent-length: 90\r\n\r\n{".to_vec(),
    ] {
        srv.set(Script::Raw(body));
        let c = Client::with_timeouts(
            Endpoints {
                api: srv.base.clone(),
                login: format!("{}/login", srv.base),
            },
            Credentials {
                client_id: "hostile".into(),
                secret: Secret::new("s3cr3t-zd2gc-canary-hostile"),
            },
            Duration::from_secs(2),
            Duration::from_secs(3),
        )
        .unwrap();
        let mut c = c;
        c.limits.small = 64 << 10;
        c.policy.max_retries = 1;
        let e = srv
            .rt
            .block_on(c.get::<serde_json::Value>("/api/v2/x"))
            .expect_err("no token");
        let s = e.to_string();
        assert!(!s.contains("s3cr3t-zd2gc-canary"), "{s}");
        assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes as the whole answer, or as the body of a 200 or an error: a diagnostic or a
    /// value, never a panic or a hang.
    #[test]
    fn random_answers_never_panic_or_hang(
        status in prop::sample::select(vec!["200 OK", "400 Bad Request", "404 Not Found", "409 Conflict", "429 Too Many Requests", "500 Internal Server Error"]),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        raw in any::<bool>(),
    ) {
        thread_local! {
            static SRV: Server = Server::start(Script::Silent);
        }
        SRV.with(|srv| {
            let c = srv.client(Duration::from_secs(3));
            srv.set(Script::Raw(if raw { body.clone() } else { answer(status, &[], &body) }));
            let (r, took) = srv.get(&c);
            prop_assert!(took < Duration::from_secs(15));
            if let Err(e) = r {
                diagnostic(&e);
            }
            Ok(())
        })?;
    }
}

#[test]
fn every_request_has_timeouts() {
    // A connect that never completes (a black-holed address) and a server that never answers
    // both end: the client's connect and request timeouts exist and apply.
    assert_eq!(zd2gc::client::CONNECT_TIMEOUT, Duration::from_secs(10));
    assert_eq!(zd2gc::client::REQUEST_TIMEOUT, Duration::from_secs(60));
    let srv = Server::start(Script::Silent);
    let c = srv.client(Duration::from_millis(300));
    let (r, took) = srv.get(&c);
    let e = r.expect_err("silence");
    assert_eq!(e.status, None, "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(srv.api_requests.load(std::sync::atomic::Ordering::Relaxed) >= 1);
}
