//! The webhook sink against an HTTP receiver on loopback: body formats,
//! the HMAC signature as a receiver checks it, and which failures are
//! retryable.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use hmac::{Hmac, Mac};
use iocwatch_sinks::{SIGNATURE_HEADER, Sink, SinkConfig};
use serde_json::Value;
use sha2::Sha256;

use crate::support::{TRICKY, TestCertificates, alerts};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct Receiver {
    requests: Arc<Mutex<Vec<Received>>>,
    status: StatusCode,
    extra: Vec<(&'static str, &'static str)>,
}

async fn record(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    receiver.requests.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let mut response_headers = HeaderMap::new();
    for (name, value) in &receiver.extra {
        response_headers.insert(*name, value.parse().unwrap());
    }
    (receiver.status, response_headers, "receiver says no")
}

/// Starts a receiver that responds to every POST with `status` and returns
/// its address and the list of requests it records.
async fn start_receiver(
    status: u16,
    extra: Vec<(&'static str, &'static str)>,
) -> (SocketAddr, Arc<Mutex<Vec<Received>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver {
        requests: Arc::clone(&requests),
        status: StatusCode::from_u16(status).unwrap(),
        extra,
    };
    let app = Router::new().route("/{*path}", post(record)).with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, requests)
}

fn webhook(url: &str, extra: &str) -> Sink {
    let config = SinkConfig::from_toml(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\n{extra}"
    ))
    .unwrap();
    Sink::new(config).unwrap()
}

/// Checks a signed request the way a receiver does: parse the header,
/// check the clock, recompute the HMAC over `t.body`, compare in constant
/// time.
fn verify_signature(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .ok_or("no signature header")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.parse::<u64>().map_err(|e| e.to_string())?),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|e| e.to_string())?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if now.abs_diff(timestamp) > 300 {
        return Err(format!("timestamp {timestamp} is more than 5 minutes from {now}"));
    }
    for signature in signatures {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        if mac.verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err("no v1 signature matches".to_owned())
}

#[tokio::test]
async fn webhook_generic_posts_alert() {
    let (address, requests) = start_receiver(200, Vec::new()).await;
    let sink = webhook(&format!("http://{address}/hook/generic"), "");
    let alert = &alerts()[2];
    sink.deliver(alert).await.unwrap();

    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/hook/generic");
    assert_eq!(request.json(), *alert);
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("iocwatch/")
    );
    assert!(
        request.headers.get(SIGNATURE_HEADER).is_none(),
        "unsigned sink sent a signature"
    );
}

#[tokio::test]
async fn webhook_slack_message_shape() {
    let (address, requests) = start_receiver(200, Vec::new()).await;
    let sink = webhook(
        &format!("http://{address}/services/T0/B0/x"),
        "format = \"slack\"\n",
    );
    sink.deliver(&alerts()[5]).await.unwrap();

    let body = requests.lock().unwrap()[0].json();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("update-check.badcdn.example and 1 more"), "{text}");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= 150);
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert!(fields.len() <= 10);
    for label in ["*Indicator*", "*Watchlist*", "*Severity*", "*Host*", "*Time*"] {
        assert!(
            fields.iter().any(|f| f.starts_with(label)),
            "no {label} field in {fields:?}"
        );
    }
    assert!(
        fields.iter().any(|f| f.contains("10.20.0.15 (internal)")),
        "{fields:?}"
    );
    let all = serde_json::to_string(&body).unwrap();
    assert!(all.contains("*Next steps*"), "{all}");
    assert!(
        all.contains("resolved or contacted cdn7.update-check.badcdn.example"),
        "{all}"
    );
    assert!(all.contains("*Evidence*"), "{all}");
}

#[tokio::test]
async fn webhook_slack_escapes_mrkdwn() {
    let (address, requests) = start_receiver(200, Vec::new()).await;
    let sink = webhook(&format!("http://{address}/s"), "format = \"slack\"\n");
    sink.deliver(&alerts()[TRICKY]).await.unwrap();
    let all = serde_json::to_string(&requests.lock().unwrap()[0].json()).unwrap();
    assert!(all.contains("&lt;b&gt;&amp;"), "{all}");
    assert!(!all.contains("<b>"), "{all}");
}

#[tokio::test]
async fn webhook_teams_adaptive_card() {
    let (address, requests) = start_receiver(202, Vec::new()).await;
    let sink = webhook(&format!("http://{address}/workflows/run"), "format = \"teams\"\n");
    sink.deliver(&alerts()[3]).await.unwrap();

    let body = requests.lock().unwrap()[0].json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    let items = card["body"].as_array().unwrap();
    assert_eq!(items[0]["type"], "TextBlock");
    assert!(items[0]["text"].as_str().unwrap().contains("203.0.113.0/28"));
    let facts = items.iter().find(|item| item["type"] == "FactSet").unwrap()["facts"]
        .as_array()
        .unwrap();
    let fact = |title: &str| {
        facts
            .iter()
            .find(|f| f["title"] == title)
            .map(|f| f["value"].as_str().unwrap())
    };
    assert_eq!(fact("Watchlist"), Some("c2-servers"));
    assert_eq!(fact("Severity"), Some("medium"));
    assert_eq!(fact("Host"), Some("10.20.0.40 (inbound)"));
    assert_eq!(fact("Time"), Some("2026-12-03T09:00:20.500000Z"));
    let texts: Vec<&str> = items.iter().filter_map(|item| item["text"].as_str()).collect();
    assert!(texts.contains(&"Next steps"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("1. Check whether 203.0.113.9")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn webhook_signature_verifies() {
    let (address, requests) = start_receiver(200, Vec::new()).await;
    let sink = webhook(
        &format!("http://{address}/signed"),
        "secret = \"correct horse\"\n",
    );
    sink.deliver(&alerts()[0]).await.unwrap();

    let request = requests.lock().unwrap()[0].clone();
    assert_eq!(
        verify_signature(b"correct horse", &request.headers, &request.body),
        Ok(())
    );
    assert!(verify_signature(b"wrong key", &request.headers, &request.body).is_err());
    let mut tampered = request.body.to_vec();
    tampered.push(b' ');
    assert!(verify_signature(b"correct horse", &request.headers, &tampered).is_err());
}

#[tokio::test]
async fn webhook_secret_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("secret");
    std::fs::write(&secret_path, "from-a-file\n").unwrap();
    let (address, requests) = start_receiver(200, Vec::new()).await;
    let sink = webhook(
        &format!("http://{address}/signed"),
        &format!(
            "secret_file = {:?}\nheaders = {{ Authorization = \"Bearer abc\" }}\n",
            secret_path.display().to_string()
        ),
    );
    sink.deliver(&alerts()[1]).await.unwrap();
    let request = requests.lock().unwrap()[0].clone();
    assert_eq!(
        verify_signature(b"from-a-file", &request.headers, &request.body),
        Ok(())
    );
    assert_eq!(request.headers["authorization"], "Bearer abc");
}

#[tokio::test]
async fn webhook_status_retryability() {
    let cases = [
        (500, true),
        (502, true),
        (503, true),
        (408, true),
        (429, true),
        (400, false),
        (401, false),
        (404, false),
        (422, false),
    ];
    for (status, retryable) in cases {
        let (address, requests) = start_receiver(status, Vec::new()).await;
        let sink = webhook(&format!("http://{address}/hook/T0/token-123"), "");
        let error = sink.deliver(&alerts()[0]).await.unwrap_err();
        assert_eq!(error.is_retryable(), retryable, "status {status}: {error}");
        assert!(error.message().contains(&status.to_string()), "{error}");
        assert!(error.message().contains("receiver says no"), "{error}");
        assert!(!error.message().contains("token-123"), "{error}");
        assert_eq!(requests.lock().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn webhook_retry_after_seconds() {
    let (address, _) = start_receiver(503, vec![("retry-after", "7")]).await;
    let error = webhook(&format!("http://{address}/x"), "")
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn webhook_redirect_not_followed() {
    let (address, requests) = start_receiver(302, vec![("location", "/elsewhere")]).await;
    let error = webhook(&format!("http://{address}/x"), "")
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(error.message().contains("redirects are not followed"), "{error}");
    assert_eq!(requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn webhook_receiver_down_is_retryable() {
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let error = webhook(&format!("http://{address}/x"), "")
        .deliver(&alerts()[0])
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.message().contains("failed to connect"), "{error}");
}

#[tokio::test]
async fn webhook_timeout_is_retryable() {
    // Accepts connections and never responds.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let silent_server = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let sink = webhook(&format!("http://{address}/x"), "timeout = \"300ms\"\n");
    let start = std::time::Instant::now();
    let error = sink.deliver(&alerts()[0]).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.message().contains("timed out"), "{error}");
    assert!(start.elapsed() < Duration::from_secs(5));
    silent_server.abort();
}

/// Starts an HTTPS receiver with the test server certificate that reads
/// one request per connection, stores its body, and responds 204.
async fn start_https_receiver(certificates: &TestCertificates) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let chain = rustls::pki_types::CertificateDer::pem_file_iter(&certificates.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&certificates.key).unwrap();
    #[allow(deprecated, reason = "ring is the provider this workspace builds with")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let stored = Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let Ok(mut stream) = acceptor.accept(stream).await else {
                continue;
            };
            let mut request = Vec::new();
            let mut buffer = [0_u8; 4096];
            // Reads the head, then as many body bytes as Content-Length
            // names.
            let body = loop {
                let n = stream.read(&mut buffer).await.unwrap();
                assert!(n > 0, "connection closed before the request ended");
                request.extend_from_slice(&buffer[..n]);
                let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map(|value| value.trim().parse().unwrap())
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break request[end + 4..end + 4 + length].to_vec();
                }
            };
            stored.lock().unwrap().push(body);
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            stream.shutdown().await.unwrap();
        }
    });
    (address, bodies)
}

#[tokio::test]
async fn webhook_https_with_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let (address, bodies) = start_https_receiver(&certificates).await;
    let sink = webhook(
        &format!("https://localhost:{}/hook", address.port()),
        &format!("ca_file = {:?}\n", certificates.ca.display().to_string()),
    );
    let alert = &alerts()[0];
    sink.deliver(alert).await.unwrap();
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    assert_eq!(serde_json::from_slice::<Value>(&bodies[0]).unwrap(), *alert);
}

#[tokio::test]
async fn webhook_https_unknown_ca_not_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::generate(dir.path());
    let (address, bodies) = start_https_receiver(&certificates).await;
    let sink = webhook(
        &format!("https://127.0.0.1:{}/hook", address.port()),
        &format!("ca_file = {:?}\n", certificates.other_ca.display().to_string()),
    );
    let error = sink.deliver(&alerts()[0]).await.unwrap_err();
    assert!(!error.is_retryable(), "{error}");
    assert!(bodies.lock().unwrap().is_empty());
}
