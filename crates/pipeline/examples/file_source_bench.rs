//! Measures the file source: lines per second when reading a backlog, and
//! the delay from `write` to the channel's receiver while lines are appended
//! at a steady rate.
//!
//! Run through `bash bench/sources.sh`, or directly:
//!
//! ```sh
//! cargo run --release -p iocwatch-pipeline --example file_source_bench -- \
//!     --backlog-lines 2000000 --rate 10000 --seconds 5
//! ```

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iocwatch_pipeline::sources::{FileSource, FileSourceConfig, NoCheckpoints, StartAt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Options {
    backlog_lines: u64,
    rate: u64,
    seconds: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        backlog_lines: 2_000_000,
        rate: 10_000,
        seconds: 5,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(name) = arguments.next() {
        let value = arguments
            .next()
            .ok_or_else(|| format!("option {name} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("option {name}: invalid number {value:?}"))?;
        match name.as_str() {
            "--backlog-lines" => options.backlog_lines = number,
            "--rate" => options.rate = number.max(1),
            "--seconds" => options.seconds = number.max(1),
            _ => {
                return Err(format!(
                    "unknown option {name}; use --backlog-lines, --rate or --seconds"
                ));
            }
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = parse_options()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.log");

    // A backlog of lines shaped like a firewall log.
    let started = Instant::now();
    let mut writer = BufWriter::new(OpenOptions::new().create(true).append(true).open(&path)?);
    for i in 0..options.backlog_lines {
        writeln!(
            writer,
            "2026-12-04T10:00:00.000Z fw01 kernel: ACCEPT IN=eth0 SRC=203.0.113.{} DST=198.51.100.2 PROTO=TCP SPT={} DPT=443 seq={i}",
            i % 250,
            1024 + i % 60_000
        )?;
    }
    writer.flush()?;
    drop(writer);
    let bytes = std::fs::metadata(&path)?.len();
    eprintln!(
        "wrote {} lines ({bytes} bytes) in {:?}",
        options.backlog_lines,
        started.elapsed()
    );

    let mut config = FileSourceConfig::new("bench", vec![path.to_string_lossy().into_owned()]);
    config.start_at = StartAt::Beginning;
    let source = FileSource::new(config)?;
    let (tx, mut rx) = mpsc::channel(64);
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(source.run(tx, Arc::new(NoCheckpoints), shutdown.clone()));
    let mut seen = 0;
    while seen < options.backlog_lines {
        let batch = rx.recv().await.ok_or("the source ended early")?;
        seen += batch.lines.len() as u64;
    }
    let elapsed = started.elapsed();

    // Steady appends, each line carrying its write time.
    let total = options.rate * options.seconds;
    let origin = Instant::now();
    let append_path = path.clone();
    let rate = options.rate;
    let appender = std::thread::spawn(move || -> std::io::Result<()> {
        let mut file = OpenOptions::new().append(true).open(&append_path)?;
        for i in 0..total {
            let due = origin + Duration::from_nanos(i * 1_000_000_000 / rate);
            while Instant::now() < due {
                std::thread::sleep(Duration::from_micros(20));
            }
            writeln!(file, "{}", origin.elapsed().as_nanos())?;
        }
        Ok(())
    });
    let mut delays: Vec<u128> = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    while (delays.len() as u64) < total {
        let batch = rx.recv().await.ok_or("the source ended early")?;
        let now = origin.elapsed().as_nanos();
        for line in batch.lines {
            let written: u128 = std::str::from_utf8(&line.data)?.parse()?;
            delays.push(now.saturating_sub(written));
        }
    }
    appender.join().map_err(|_| "the appending thread failed")??;
    shutdown.cancel();
    task.await?;

    delays.sort_unstable();
    let percentile = |fraction: f64| {
        let index = ((delays.len() as f64 - 1.0) * fraction).round() as usize;
        delays[index] as f64 / 1000.0
    };
    let seconds = elapsed.as_secs_f64();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| backlog lines | {} |", options.backlog_lines);
    println!("| backlog read time (s) | {seconds:.3} |");
    println!(
        "| backlog lines/s | {:.0} |",
        options.backlog_lines as f64 / seconds
    );
    println!("| backlog MB/s | {:.1} |", bytes as f64 / 1e6 / seconds);
    println!(
        "| append rate (lines/s) | {} for {} s |",
        options.rate, options.seconds
    );
    println!("| delay p50 (µs) | {:.0} |", percentile(0.50));
    println!("| delay p99 (µs) | {:.0} |", percentile(0.99));
    println!("| delay p99.9 (µs) | {:.0} |", percentile(0.999));
    println!("| delay max (µs) | {:.0} |", percentile(1.0));
    Ok(())
}
