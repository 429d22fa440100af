//! The client against loopback servers: what the gate observes.

use super::*;

/// A loopback login that hands out a token to every request, and a port where nothing listens.
fn token_server_and_a_closed_port() -> (String, String) {
    use std::io::{Read, Write};
    let login = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let login_url = format!("http://{}", login.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in login.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // The token request: headers, then a short form body.
            while !String::from_utf8_lossy(&req).contains("grant_type") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"access_token":"t","token_type":"bearer","expires_in":3600}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    (login_url, api_url)
}

#[derive(Default)]
struct Counting(std::sync::Mutex<Vec<(String, Reply)>>);

impl Gate for Counting {
    fn reserve(&self) -> Duration {
        Duration::ZERO
    }
    fn observe(&self, method: &'static str, path: &str, reply: Reply, _: Option<Duration>) {
        self.0
            .lock()
            .unwrap()
            .push((format!("{method} {path}"), reply));
    }
}

#[tokio::test]
async fn the_gate_observes_every_request_sent_also_one_that_never_reached_its_host() {
    let client = client_of_a_token_server();
    let gate = std::sync::Arc::new(Counting::default());
    client.set_gate(gate.clone());
    let e = client.identify().await.unwrap_err();
    assert!(e.to_string().contains("connection refused"), "{e}");
    assert_eq!(client.calls(), 2);
    assert_eq!(
        *gate.0.lock().unwrap(),
        [
            ("POST /oauth/token".to_string(), Reply::Status(200)),
            (
                "GET /api/v2/workforcemanagement/businessunits".to_string(),
                Reply::Connection
            ),
        ]
    );
}

/// A client whose login is a loopback token server and whose API is a closed port (upload and
/// gate tests need no API).
fn client_of_a_token_server() -> Client {
    let (login, api) = token_server_and_a_closed_port();
    Client::new(
        Endpoints { api, login },
        Credentials {
            client_id: "id".into(),
            secret: Secret::new("s"),
        },
    )
    .unwrap()
}

/// `body` as an upload body in a temporary file, with `tail` written after it (not part of it).
fn body_in_a_file(body: &[u8], tail: &[u8]) -> UploadBody {
    use std::io::Write;
    let mut f = tempfile::tempfile().unwrap();
    f.write_all(body).unwrap();
    f.write_all(tail).unwrap();
    UploadBody::File(std::sync::Arc::new(f), body.len() as u64)
}

/// The path and body of each request an upload host saw.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback upload host at `http://127.0.0.1:PORT`: it reads each request's headers and its
/// Content-Length bytes of body, keeps its path and body, and answers `answer(requests seen so far,
/// path, base URL)` (a status line and any headers) with no body.
fn upload_host(answer: impl Fn(usize, &str, &str) -> String + Send + 'static) -> (String, Seen) {
    use std::io::{Read, Write};
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", host.local_addr().unwrap());
    let seen: Seen = Default::default();
    let record = seen.clone();
    let at = base.clone();
    std::thread::spawn(move || {
        for conn in host.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut req = Vec::new();
            let mut buf = [0u8; 65536];
            // Headers, then Content-Length bytes of body.
            let (head_end, len, path) = loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..i]).to_ascii_lowercase();
                    let path = head.split(' ').nth(1).unwrap_or("").to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    break (i + 4, len, path);
                }
            };
            while req.len() < head_end + len {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let status = {
                let mut seen = record.lock().unwrap();
                seen.push((path.clone(), req[head_end..head_end + len].to_vec()));
                answer(seen.len(), &path, &at)
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (base, seen)
}

/// A loopback upload host that answers the first `PUT` `429` (`Retry-After: 0`) and the next
/// `200`; its upload URL and what it saw.
fn upload_server_refusing_once() -> (String, Seen) {
    let (base, seen) = upload_host(|n, _, _| {
        if n == 1 {
            "429 Too Many Requests\r\nRetry-After: 0".to_string()
        } else {
            "200 OK".to_string()
        }
    });
    (format!("{base}/upload/k"), seen)
}

/// An upload host that redirects (307) the PUT of `/upload/k` to `/upload/k2`, which takes it;
/// its upload URL and what it saw.
fn upload_server_redirecting() -> (String, Seen) {
    let (base, seen) = upload_host(|_, path, base| {
        if path == "/upload/k" {
            format!("307 Temporary Redirect\r\nLocation: {base}/upload/k2")
        } else {
            "200 OK".to_string()
        }
    });
    (format!("{base}/upload/k"), seen)
}

#[tokio::test]
async fn an_upload_sent_again_sends_the_same_body() {
    let client = client_of_a_token_server();
    let (url, bodies) = upload_server_refusing_once();
    // Larger than one read, with every byte value.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    client
        .put_upload(&url, &Default::default(), body.clone())
        .await
        .unwrap();
    assert_eq!(client.calls(), 2);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies.iter().all(|(_, b)| *b == body),
        "a body differs from the one sent"
    );
}

/// A body in a file is sent whole (its length announced), by each attempt from its start; the
/// file's bytes past the length given are not sent.
#[tokio::test]
async fn an_upload_from_a_file_sent_again_sends_the_same_body() {
    let client = client_of_a_token_server();
    let (url, bodies) = upload_server_refusing_once();
    // Several reads' worth, with every byte value, and a tail that is not the body.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = body_in_a_file(&body, b"not the body");
    assert_eq!(up.len(), 200_000);
    client
        .put_upload(&url, &Default::default(), up)
        .await
        .unwrap();
    assert_eq!(client.calls(), 2);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies.iter().all(|(_, b)| *b == body),
        "a body differs from the one sent: {:?}",
        bodies.iter().map(|(_, b)| b.len()).collect::<Vec<_>>()
    );
}

/// A body in a file still reaches an upload host that redirects (307), as a body in memory does:
/// reqwest follows a redirect only with a body it can send again, so the file's is sent once more
/// from memory.
#[tokio::test]
async fn an_upload_from_a_file_follows_a_redirect() {
    let client = client_of_a_token_server();
    let (url, seen) = upload_server_redirecting();
    let body: Vec<u8> = (0..150_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let up = body_in_a_file(&body, b"");
    client
        .put_upload(&url, &Default::default(), up)
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths.last(),
        Some(&"/upload/k2"),
        "the redirect was not followed: {paths:?}"
    );
    assert!(
        seen.iter().all(|(_, b)| *b == body),
        "a body differs from the one sent: {:?}",
        seen.iter().map(|(_, b)| b.len()).collect::<Vec<_>>()
    );
}
