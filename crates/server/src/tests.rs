use std::io::Write;
use std::sync::Mutex;

use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<(String, Vec<Vec<u8>>)>>,
    refuse: Option<IngestRejection>,
    /// Drops the lines without storing them, as a service that stops.
    lose: bool,
}

impl IngestTarget for Recorder {
    fn check_source(&self, source: &str) -> Result<(), Vec<String>> {
        if source == "vector" {
            Ok(())
        } else {
            Err(vec!["vector".to_owned()])
        }
    }

    fn submit(
        &self,
        source: &str,
        lines: Vec<Vec<u8>>,
    ) -> Result<tokio::sync::mpsc::Receiver<()>, IngestRejection> {
        if source != "vector" {
            return Err(IngestRejection::UnknownSource {
                known: vec!["vector".to_owned()],
            });
        }
        if let Some(rejection) = &self.refuse {
            return Err(rejection.clone());
        }
        let (stored, receipt) = tokio::sync::mpsc::channel(1);
        if !self.lose {
            self.batches.lock().unwrap().push((source.to_owned(), lines));
            stored.try_send(()).unwrap();
        }
        Ok(receipt)
    }
}

struct Health(bool);

impl HealthReport for Health {
    fn health(&self) -> (bool, Value) {
        (self.0, json!({"status": if self.0 { "ok" } else { "failing" }}))
    }
}

struct Metrics;

impl MetricsRender for Metrics {
    fn render(&self) -> String {
        "iocwatch_events_total 3\n".to_owned()
    }
}

fn app(recorder: Arc<Recorder>, healthy: bool) -> Router {
    router(AppState {
        ingest: recorder,
        health: Arc::new(Health(healthy)),
        metrics: Arc::new(Metrics),
        max_body_bytes: 1024,
        ..crate::api::tests::state()
    })
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, value)
}

fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).body(body.into()).unwrap()
}

#[tokio::test]
async fn json_lines_are_accepted_whole() {
    let recorder = Arc::new(Recorder::default());
    let body = "{\"a\":1}\n\n  {\"b\":2}\r\n{\"c\":3}";
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(value, json!({"accepted": 3}));
    let batches = recorder.batches.lock().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].1,
        [
            b"{\"a\":1}".to_vec(),
            b"{\"b\":2}".to_vec(),
            b"{\"c\":3}".to_vec()
        ]
    );
}

#[tokio::test]
async fn ingest_json_array_split_into_events() {
    let recorder = Arc::new(Recorder::default());
    let body = r#"[{"source":{"ip":"192.0.2.1"}},{"b":[1,2]}]"#;
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{value}");
    let batches = recorder.batches.lock().unwrap();
    assert_eq!(batches[0].1[0], br#"{"source":{"ip":"192.0.2.1"}}"#.to_vec());
    assert_eq!(batches[0].1[1], br#"{"b":[1,2]}"#.to_vec());
}

#[tokio::test]
async fn gzip_bodies_are_read() {
    let recorder = Arc::new(Recorder::default());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
    let request = Request::post("/api/v1/ingest/vector")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(encoder.finish().unwrap()))
        .unwrap();
    let (status, _, value) = call(app(recorder, true), request).await;
    assert_eq!((status, value), (StatusCode::ACCEPTED, json!({"accepted": 2})));
}

#[tokio::test]
async fn bad_lines_are_left_out_and_listed() {
    let rows: [(&str, usize, &str, Value); 4] = [
        (
            "{\"a\":1}\n{\"a\":\n{\"b\":2}\n",
            2,
            "line 2 is not valid JSON: EOF while parsing a value at column 5",
            json!(2),
        ),
        (
            "{\"a\":1}\nplain text\n",
            1,
            "line 2 is not a JSON object; send one JSON object per line",
            json!(2),
        ),
        (
            "{\"a\":1}\n[{\"a\":2}]\n",
            1,
            "line 2 is a JSON array, not an object; send one JSON object per line, or the whole body as one \
             JSON array of objects",
            json!(2),
        ),
        (
            "[{\"a\":1}, 3]",
            1,
            "array element 2 is not a JSON object",
            Value::Null,
        ),
    ];
    for (body, accepted, message, line) in rows {
        let recorder = Arc::new(Recorder::default());
        let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body:?}");
        assert_eq!(value["accepted"], accepted, "{body:?}");
        assert_eq!(value["rejected_total"], 1, "{body:?}");
        assert_eq!(value["rejected"][0]["message"], message, "{body:?}");
        assert_eq!(value["rejected"][0]["line"], line, "{body:?}");
        let batches = recorder.batches.lock().unwrap();
        assert_eq!(batches[0].1.len(), accepted, "{body:?}");
    }
}

#[tokio::test]
async fn bodies_without_a_valid_event_get_400() {
    let rows: [(&str, &str, Option<usize>); 3] = [
        ("{\"a\":\n", "line 1 is not valid JSON", Some(1)),
        ("plain text\n", "line 1 is not a JSON object", Some(1)),
        ("[{\"a\":1}", "not a JSON array", Some(1)),
    ];
    for (body, words, line) in rows {
        let recorder = Arc::new(Recorder::default());
        let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(value["error"]["code"], "invalid_event");
        let message = value["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{body:?}: {message}");
        assert_eq!(
            value["error"]["line"].as_u64().map(|n| n as usize),
            line,
            "{body:?}"
        );
        assert!(recorder.batches.lock().unwrap().is_empty(), "{body:?} was taken");
    }
}

#[tokio::test]
async fn byte_order_mark_is_ignored() {
    let recorder = Arc::new(Recorder::default());
    let (status, _, value) = call(
        app(recorder, true),
        post("/api/v1/ingest/vector", "\u{feff}{\"a\":1}\n"),
    )
    .await;
    assert_eq!((status, value), (StatusCode::ACCEPTED, json!({"accepted": 1})));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let recorder = Arc::new(Recorder::default());
    let body = format!("{{\"a\":\"{}\"}}", "x".repeat(2000));
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["error"]["code"], "body_too_large");

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(format!("{{\"a\":\"{}\"}}", "x".repeat(100_000)).as_bytes())
        .unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1024);
    let request = Request::post("/api/v1/ingest/vector")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(bomb))
        .unwrap();
    let (status, _, _) = call(app(recorder.clone(), true), request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(recorder.batches.lock().unwrap().is_empty());
}

#[tokio::test]
async fn encodings_and_sources_are_checked() {
    let recorder = Arc::new(Recorder::default());
    let request = Request::post("/api/v1/ingest/vector")
        .header(header::CONTENT_ENCODING, "br")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, value) = call(app(recorder.clone(), true), request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(value["error"]["code"], "unsupported_encoding");

    let request = Request::post("/api/v1/ingest/vector")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from("not gzip"))
        .unwrap();
    let (status, _, value) = call(app(recorder.clone(), true), request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["error"]["code"], "invalid_gzip");

    let (status, _, value) = call(app(recorder, true), post("/api/v1/ingest/zeek", "{}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(value["error"]["code"], "unknown_source");
    assert!(value["error"]["message"].as_str().unwrap().contains("vector"));
}

#[tokio::test]
async fn ingest_busy_service_requests_retry() {
    let recorder = Arc::new(Recorder {
        refuse: Some(IngestRejection::Busy),
        ..Recorder::default()
    });
    let (status, headers, value) = call(app(recorder, true), post("/api/v1/ingest/vector", "{}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "1");
    assert_eq!(value["error"]["code"], "busy");
}

#[tokio::test]
async fn health_metrics_and_unknown_paths() {
    let recorder = Arc::new(Recorder::default());
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let (status, _, value) = call(app(recorder.clone(), true), get("/healthz")).await;
    assert_eq!((status, value), (StatusCode::OK, json!({"status": "ok"})));
    let (status, _, _) = call(app(recorder.clone(), false), get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, headers, value) = call(app(recorder.clone(), true), get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(value, Value::String("iocwatch_events_total 3\n".into()));
    let (status, _, value) = call(app(recorder, true), get("/api/v1/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(value["error"]["code"], "not_found");
}

#[tokio::test]
async fn ingest_lines_not_stored_get_503() {
    let recorder = Arc::new(Recorder {
        lose: true,
        ..Recorder::default()
    });
    let (status, _, value) = call(app(recorder, true), post("/api/v1/ingest/vector", "{}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(value["error"]["code"], "not_stored");
}

#[tokio::test]
async fn ingest_empty_body_gets_400() {
    for body in ["", " \n\r\n"] {
        let recorder = Arc::new(Recorder::default());
        let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(value["error"]["code"], "empty_body", "{body:?}");
        assert!(recorder.batches.lock().unwrap().is_empty());
    }
    let recorder = Arc::new(Recorder::default());
    let (status, _, value) = call(app(recorder, true), post("/api/v1/ingest/vector", "[]")).await;
    assert_eq!((status, value), (StatusCode::ACCEPTED, json!({"accepted": 0})));
}

#[tokio::test]
async fn ingest_unknown_source_gets_404_before_body() {
    for body in ["", "garbage", "{\"a\":1}"] {
        let recorder = Arc::new(Recorder::default());
        let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/other", body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body:?}");
        assert_eq!(value["error"]["code"], "unknown_source", "{body:?}");
        assert!(recorder.batches.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn ingest_broken_body_gets_400() {
    // A body stream that fails part way, as a client that closes the
    // connection before the length it announced does.
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("{\"a\":"),
        Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        )),
    ];
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let recorder = Arc::new(Recorder::default());
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["error"]["code"], "incomplete_body");
    assert!(recorder.batches.lock().unwrap().is_empty());

    // A body that stalls ends with a time-out error, as the listener's
    // idle limit gives it.
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
        Ok("{\"a\":"),
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no bytes arrived",
        )),
    ];
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(value["error"]["code"], "body_timeout");

    let large = "x".repeat(2048);
    let (status, _, value) = call(app(recorder, true), post("/api/v1/ingest/vector", large)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn ingest_rejects_nesting_decoders_refuse() {
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    // Brackets inside strings do not nest.
    let quoted = format!(
        "{{\"a\":\"{}\",\"b\":{}1{}}}",
        "[".repeat(200),
        "[".repeat(70),
        "]".repeat(70)
    );
    let body = format!("{deep}\n{quoted}\n");
    let recorder = Arc::new(Recorder::default());
    let (status, _, value) = call(app(recorder.clone(), true), post("/api/v1/ingest/vector", body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{value}");
    assert_eq!(value["accepted"], 1, "{value}");
    assert_eq!(value["rejected"][0]["line"], 1, "{value}");
    let message = value["rejected"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("recursion limit"), "{message}");
    assert_eq!(recorder.batches.lock().unwrap()[0].1, [quoted.into_bytes()]);
}
