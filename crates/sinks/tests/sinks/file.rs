//! The file sink: JSON lines, size rotation, and write errors.

use std::path::Path;

use iocwatch_sinks::{Sink, SinkConfig};
use serde_json::{Value, json};

use crate::support::alerts;

fn file_sink(path: &Path, max_bytes: u64, keep: u32) -> Sink {
    let config = SinkConfig::from_toml(&format!(
        "name = \"archive\"\ntype = \"file\"\npath = {:?}\nmax_bytes = {max_bytes}\nkeep = {keep}\n",
        path.display().to_string()
    ))
    .unwrap();
    Sink::new(config).unwrap()
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Returns an alert whose JSON line is exactly 100 bytes, newline included.
fn alert_of_100_bytes(n: u32) -> Value {
    let alert = json!({"n": n, "pad": ""});
    let len = serde_json::to_vec(&alert).unwrap().len() + 1;
    json!({"n": n, "pad": "x".repeat(100 - len)})
}

#[tokio::test]
async fn file_writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/iocwatch-alerts.jsonl");
    let sink = file_sink(&path, 1 << 20, 2);
    let alerts = alerts();
    sink.deliver(&alerts[0]).await.unwrap();
    sink.deliver_batch(&alerts[1..]).await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), alerts.len());
    assert_eq!(read_lines(&path), alerts);
}

#[tokio::test]
async fn file_appends_to_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iocwatch-alerts.jsonl");
    std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
    let sink = file_sink(&path, 1 << 20, 2);
    sink.deliver(&json!({"later": true})).await.unwrap();
    assert_eq!(
        read_lines(&path),
        [json!({"earlier": true}), json!({"later": true})]
    );
}

#[tokio::test]
async fn file_rotates_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iocwatch-alerts.jsonl");
    // Three 100-byte lines fit in 300 bytes; the fourth starts a new file.
    let sink = file_sink(&path, 300, 2);
    for n in 0..10 {
        sink.deliver(&alert_of_100_bytes(n)).await.unwrap();
    }
    let numbers = |path: &Path| -> Vec<u64> {
        read_lines(path)
            .iter()
            .map(|a| a["n"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(numbers(&path), [9]);
    assert_eq!(numbers(&dir.path().join("iocwatch-alerts.jsonl.1")), [6, 7, 8]);
    assert_eq!(numbers(&dir.path().join("iocwatch-alerts.jsonl.2")), [3, 4, 5]);
    assert!(
        !dir.path().join("iocwatch-alerts.jsonl.3").exists(),
        "kept more than 2 rotated files"
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let size = entry.unwrap().metadata().unwrap().len();
        assert!(size <= 300, "a file grew to {size} bytes");
    }
}

#[tokio::test]
async fn file_rotates_within_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    let sink = file_sink(&path, 250, 3);
    let batch: Vec<Value> = (0..5).map(alert_of_100_bytes).collect();
    sink.deliver_batch(&batch).await.unwrap();
    let numbers = |path: &Path| -> Vec<u64> {
        read_lines(path)
            .iter()
            .map(|a| a["n"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(numbers(&path), [4]);
    assert_eq!(numbers(&dir.path().join("alerts.jsonl.1")), [2, 3]);
    assert_eq!(numbers(&dir.path().join("alerts.jsonl.2")), [0, 1]);
}

#[tokio::test]
async fn file_keep_zero_discards_old() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    let sink = file_sink(&path, 150, 0);
    for n in 0..3 {
        sink.deliver(&alert_of_100_bytes(n)).await.unwrap();
    }
    assert_eq!(read_lines(&path), [alert_of_100_bytes(2)]);
    assert!(!dir.path().join("alerts.jsonl.1").exists());
}

#[tokio::test]
async fn file_keeps_oversized_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    let sink = file_sink(&path, 50, 1);
    sink.deliver(&alert_of_100_bytes(1)).await.unwrap();
    sink.deliver(&alert_of_100_bytes(2)).await.unwrap();
    assert_eq!(read_lines(&path), [alert_of_100_bytes(2)]);
    assert_eq!(
        read_lines(&dir.path().join("alerts.jsonl.1")),
        [alert_of_100_bytes(1)]
    );
}

#[tokio::test]
async fn file_error_on_folder_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();
    let sink = file_sink(&path, 1000, 1);
    let error = sink.deliver(&json!({})).await.unwrap_err();
    assert!(error.message().contains("taken"), "{error}");
    assert!(!error.is_retryable(), "{error}");
    assert_eq!(error.sink(), "archive");
}
