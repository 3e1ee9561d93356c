//! Decoding throughput on the real logs under `shared/data`, one core.
//!
//! Run with `cargo bench -p iocwatch-logs`. Each file is repeated in memory
//! to about 64 MiB and decoded line by line with the decoder its format
//! needs. The time excludes reading and decompressing. The bench prints
//! MB/s per file and skips files that are not present.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::read::GzDecoder;
use iocwatch_logs::{Decoder, detect_format, new_decoder};

const TARGET_BYTES: usize = 64 << 20;

const FILES: [&str; 7] = [
    "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/conn.log",
    "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/dns.log",
    "zeek/Trickbot-Netwrok-Analysis-Playbook/zeek/http.log",
    "zeek/zed-sample-data/zeek-default/ssl.log.gz",
    "zeek/zed-sample-data/zeek-json/dns.json.gz",
    "zeek/zed-sample-data/zeek-json/ssl.json.gz",
    "suricata/generated/el__capture-Thu-11-24-16-10-28-11_cerber/eve.json",
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let file = File::open(path)?;
    if path.extension().is_some_and(|extension| extension == "gz") {
        GzDecoder::new(file).read_to_end(&mut bytes)?;
    } else {
        let mut file = file;
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Splits a buffer into lines with `memchr`, as the pipeline's reader does.
struct Lines<'a>(&'a [u8]);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.0).unwrap_or(self.0.len());
        let (line, rest) = self.0.split_at(end);
        self.0 = rest.get(1..).unwrap_or_default();
        Some(line)
    }
}

fn main() {
    let root = data_dir();
    if !root.is_dir() {
        eprintln!("skipped: ../shared/data not found at {}", root.display());
        return;
    }
    // `cargo bench -p iocwatch-logs -- conn` runs only the files whose path
    // contains `conn`.
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .unwrap_or_default();
    println!("{:<70} {:>9} {:>10} {:>9}", "file", "MiB", "lines", "MB/s");
    for relative in FILES.iter().filter(|relative| relative.contains(&filter)) {
        let path = root.join(relative);
        let Ok(bytes) = read(&path) else {
            eprintln!("skipped: {relative} not found");
            continue;
        };
        let Some(format) = detect_format(&bytes) else {
            eprintln!("skipped: {relative}: format not detected");
            continue;
        };
        let copies = TARGET_BYTES.div_ceil(bytes.len().max(1));
        let corpus = bytes.repeat(copies);

        let mut decoder: Box<dyn Decoder> = new_decoder(format);
        let mut observables = 0_usize;
        let mut lines = 0_usize;
        let started = Instant::now();
        for line in Lines(&corpus) {
            lines += 1;
            if let Ok(Some(record)) = decoder.decode(line) {
                observables += record.observables.len();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let megabytes = corpus.len() as f64 / 1e6;
        println!(
            "{:<70} {:>9.1} {:>10} {:>9.0}  ({observables} observables)",
            relative,
            corpus.len() as f64 / f64::from(1 << 20),
            lines,
            megabytes / seconds
        );
    }
}
