#!/usr/bin/env python3
"""Benchmark of `iocwatch run`: sustained events per second and alert latency.

Three measurements, each against a fresh data folder with the same watchlist
(100,000 indicators by default, from bench/gen_corpus.py):

1. file: a pre-written Zeek JSON corpus read by a file source from its
   beginning; events per second from the first event decoded to the last.
2. syslog: the same corpus sent as syslog messages over one TCP connection
   (newline framing, each line an RFC 3164 message whose body is the Zeek
   JSON record); events per second as decoded by the service.
3. latency: lines appended to a tailed file at a steady rate (10,000 per
   second by default), one in 100 matching a different listed address; each
   matching line carries its write time, and a local HTTP receiver behind a
   webhook sink records when each alert arrives. Latency is arrival time
   minus write time; p50, p99 and the maximum are reported.

Rates come from the service's own counter `iocwatch_events_decoded_total`
read from /metrics every 50 ms. Standard library only.
"""

import argparse
import http.server
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def metric(port, name, source):
    """Returns the value of a counter with label source=SOURCE, or 0."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'source="{source}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


class Service:
    """One `iocwatch run` process with its own data folder."""

    def __init__(self, binary, workdir, watchlist, body):
        self.binary = binary
        self.dir = tempfile.mkdtemp(dir=workdir, prefix="service-")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")
        subprocess.run(
            [binary, "--data-dir", self.data, "watchlist", "import", "bench", watchlist],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.config = os.path.join(self.dir, "iocwatch.toml")
        with open(self.config, "w") as out:
            out.write(f'data_dir = "{self.data}"\n\n[http]\nlisten = "127.0.0.1:{self.port}"\n\n{body}')
        self.log = open(os.path.join(self.dir, "service.log"), "w")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "run", "--config", self.config],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"iocwatch run exited; see {self.log.name}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("iocwatch run did not start in 60 s")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_decoded(self, source, total, timeout):
        """Polls the decoded-events counter until it reaches `total`.
        Returns (seconds from first to last event, events)."""
        first = None
        last_value = 0
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = metric(self.port, "iocwatch_events_decoded_total", source) or 0
            now = time.time()
            if value > 0 and first is None:
                first = (now, value)
            if value >= total:
                return now - first[0], value - first[1]
            last_value = value
            time.sleep(0.05)
        sys.exit(f"only {last_value:.0f} of {total} events decoded in {timeout} s")


def file_rate(binary, workdir, watchlist, corpus, records):
    service = Service(
        binary,
        workdir,
        watchlist,
        f'[[source]]\nname = "bench"\ntype = "file"\npaths = ["{corpus}"]\n',
    )
    service.start()
    elapsed, events = service.wait_decoded("bench", records, 600)
    service.stop()
    return events / elapsed


def syslog_rate(binary, workdir, watchlist, corpus, records):
    port = free_port()
    service = Service(
        binary,
        workdir,
        watchlist,
        f'[[source]]\nname = "bench"\ntype = "syslog"\ntcp = "127.0.0.1:{port}"\n'
        "max_message_bytes = 65536\n",
    )
    service.start()
    done = threading.Event()

    def send():
        with socket.create_connection(("127.0.0.1", port)) as sock, open(corpus, "rb") as log:
            header = b"<134>Dec  4 12:00:00 sensor zeek: "
            chunk = []
            for line in log:
                chunk.append(header + line)
                if len(chunk) == 4096:
                    sock.sendall(b"".join(chunk))
                    chunk = []
            if chunk:
                sock.sendall(b"".join(chunk))
            done.wait()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    elapsed, events = service.wait_decoded("bench", records, 600)
    done.set()
    sender.join()
    service.stop()
    return events / elapsed


def latency(binary, workdir, watchlist, rate, seconds):
    addresses = []
    with open(watchlist) as listed:
        for line in listed:
            value = line.strip()
            if value.count(".") == 3 and "/" not in value and value.replace(".", "").isdigit():
                addresses.append(value)
    arrivals = {}
    lock = threading.Lock()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            arrived = time.time()
            alert = json.loads(body)
            original = json.loads(alert["event"]["original"])
            with lock:
                arrivals[original["uid"]] = arrived - original["ts"]
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    logdir = tempfile.mkdtemp(dir=workdir, prefix="tail-")
    path = os.path.join(logdir, "conn.log")
    open(path, "w").close()
    service = Service(
        binary,
        workdir,
        watchlist,
        f'[[source]]\nname = "bench"\ntype = "file"\npaths = ["{path}"]\n'
        'start_at = "end"\n\n'
        f'[[sink]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:{receiver.server_port}/"\n'
        'format = "generic"\n',
    )
    service.start()
    time.sleep(1)
    rng = random.Random(7)
    rng.shuffle(addresses)
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    sent = 0
    matching = 0
    start = time.time()
    with open(path, "a") as out:
        while time.time() - start < seconds:
            lines = []
            now = time.time()
            for _ in range(per_tick):
                sent += 1
                if sent % 100 == 0 and matching < len(addresses):
                    remote = addresses[matching]
                    matching += 1
                else:
                    remote = f"192.0.2.{sent % 250 + 1}"
                lines.append(
                    json.dumps(
                        {
                            "ts": now,
                            "uid": f"C{sent}",
                            "id.orig_h": f"10.9.{sent // 250 % 250}.{sent % 250 + 1}",
                            "id.orig_p": 40000,
                            "id.resp_h": remote,
                            "id.resp_p": 443,
                            "proto": "tcp",
                        }
                    )
                )
            out.write("\n".join(lines) + "\n")
            out.flush()
            next_tick = start + (sent / per_tick) * tick
            pause = next_tick - time.time()
            if pause > 0:
                time.sleep(pause)
    achieved = sent / (time.time() - start)
    deadline = time.time() + 30
    while time.time() < deadline:
        with lock:
            if len(arrivals) >= matching:
                break
        time.sleep(0.1)
    service.stop()
    receiver.shutdown()
    shutil.rmtree(logdir, ignore_errors=True)
    with lock:
        values = sorted(arrivals.values())
    if not values:
        sys.exit("no alert arrived at the webhook receiver")
    p50 = statistics.median(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return achieved, matching, len(values), p50, p99, values[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="iocwatch binary (default: build target/release/iocwatch)")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out"), help="folder for corpora")
    parser.add_argument("--indicators", type=int, default=100_000, help="watchlist size")
    parser.add_argument("--size-mb", type=int, default=200, help="corpus size in MB")
    parser.add_argument("--reps", type=int, default=3, help="runs of each rate measurement")
    parser.add_argument("--rate", type=int, default=10_000, help="lines per second in the latency run")
    parser.add_argument("--seconds", type=int, default=30, help="length of the latency run")
    args = parser.parse_args()

    binary = args.binary
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "iocwatch"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        binary = os.path.join(target, "release", "iocwatch")
    os.makedirs(args.out, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "gen_corpus.py"),
            "--out", args.out,
            "--indicators", str(args.indicators),
            "--size-mb", str(args.size_mb),
            "--formats", "zeek-json",
        ],
        check=True,
    )
    watchlist = os.path.join(args.out, f"watchlist_i{args.indicators}_s1.txt")
    corpus = os.path.join(args.out, f"zeek-json_{args.size_mb}MB_i{args.indicators}_s1.log")
    with open(corpus, "rb") as log:
        records = sum(1 for line in log if line.startswith(b"{"))
    workdir = tempfile.mkdtemp(prefix="iocwatch-bench-")
    print(f"corpus {corpus}: {records} records; watchlist {watchlist}", flush=True)
    file_rates = [file_rate(binary, workdir, watchlist, corpus, records) for _ in range(args.reps)]
    print(f"file:   median {statistics.median(file_rates):,.0f} events/s  runs {[round(r) for r in file_rates]}", flush=True)
    syslog_rates = [syslog_rate(binary, workdir, watchlist, corpus, records) for _ in range(args.reps)]
    print(f"syslog: median {statistics.median(syslog_rates):,.0f} events/s  runs {[round(r) for r in syslog_rates]}", flush=True)
    achieved, matching, arrived, p50, p99, worst = latency(binary, workdir, watchlist, args.rate, args.seconds)
    print(
        f"latency at {achieved:,.0f} lines/s: {arrived} of {matching} alerts arrived; "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms",
        flush=True,
    )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
