#!/usr/bin/env python3
"""Generate a watchlist and synthetic log corpora for the iocwatch speed benchmark.

Everything is derived from --seed, so the same options produce the same bytes
under the same Python version. Three log formats are written: Zeek conn logs as TSV, Zeek conn
logs as JSON lines, and Suricata EVE JSON lines.

Each corpus contains a fixed number of planted records whose observable is an
indicator of the watchlist or an address inside one of its networks. It also
contains a fixed number of decoy records whose values contain an indicator as
a substring without matching it: `145.12.3.4` for `45.12.3.4`, a longer first
label for a domain, an MD5 as the head of a SHA-256. All other values come
from address ranges and name suffixes that the watchlist never uses.

A JSON file written next to each corpus (`<corpus>.expected.json`) states the
expected counts. `expected_alerts` is the number of planted records.
`expected_substring_lines` is the number of lines that contain at least one
watchlist line as a substring, which is what `rg -F -f LIST -c` and
`grep -F -f LIST -c` should print. That number is computed by checking every
written line, not assumed from the construction.

Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import re
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from random import Random

FORMATS = ("zeek-tsv", "zeek-json", "eve")

# First octets of watchlist addresses and networks. All are public unicast
# /8s, and each has two digits, so that "1" + octet is a valid public first
# octet too (used for decoys).
WATCH_OCTETS = (23, 31, 37, 41, 45, 46, 62, 77, 78, 79, 80, 81, 82, 83, 85, 86, 87, 88, 89, 91, 93, 94, 95)
# First octets of decoy addresses: "1" + a watchlist octet, so that
# `145.12.3.4` contains the indicator `45.12.3.4`.
DECOY_OCTETS = tuple(int(f"1{octet}") for octet in WATCH_OCTETS)
# First octets of ordinary external traffic. None of them ends in the
# digits of a watchlist octet, so a background address never contains a
# watchlist address as a substring. `main` asserts this.
BACKGROUND_OCTETS = (13, 20, 34, 35, 40, 52, 54, 104, 140, 142, 151, 157, 199, 204, 206, 208, 216)

# Registrable names under which watchlist domains and URLs are made up.
# Every watchlist domain and URL therefore contains the text "example".
WATCH_DOMAIN_SUFFIXES = (
    "badcdn.example",
    "update-check.example",
    "secure-signin.example",
    "files-share.example",
    "pay-verify.example",
    "edge-relay.example",
    "api-telemetry.example",
    "mail-gateway.example",
)
# Ordinary traffic uses the reserved `.test` TLD, so it never contains
# the text "example".
BACKGROUND_TLD = "test"

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"

# Start of every corpus: 2024-03-01T00:00:00Z.
START_EPOCH = 1_709_251_200

ZEEK_CONN_FIELDS = (
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
    "conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts "
    "resp_ip_bytes tunnel_parents"
).split()
ZEEK_CONN_TYPES = (
    "time string addr port addr port enum string interval count count string bool bool count string "
    "count count count count set[string]"
).split()


# ---------------------------------------------------------------------------
# Watchlist
# ---------------------------------------------------------------------------

# Share of each indicator kind in a watchlist. The address share takes the
# rounding remainder.
KIND_SHARES = (
    ("ip", 0.62),
    ("cidr", 0.03),
    ("domain", 0.20),
    ("url", 0.05),
    ("sha256", 0.07),
    ("md5", 0.03),
)
# Network prefix lengths and their weights.
CIDR_PREFIXES = ((16, 3), (18, 2), (20, 8), (22, 12), (24, 50), (25, 5), (26, 8), (27, 6), (28, 6))
URL_PATHS = (
    "gate.php",
    "panel/login.php",
    "wp-content/uploads/{token}.zip",
    "admin/{token}/upload",
    "files/{token}.exe",
    "api/v1/beacon",
    "invoice/{token}.doc",
    "{token}/index.html",
)


@dataclass
class Watchlist:
    """A generated watchlist: its lines by kind and lookup tables."""

    by_kind: dict[str, list[str]]
    lines: list[str]
    # Every watchlist line, for substring and equality checks.
    line_set: set[str] = field(default_factory=set)
    # Lengths of the domain and URL lines, for substring enumeration.
    text_lengths: list[int] = field(default_factory=list)
    networks: list[IPv4Network] = field(default_factory=list)
    # Network start and end addresses as integers, sorted by start.
    network_starts: list[int] = field(default_factory=list)
    network_ends: list[int] = field(default_factory=list)
    max_network_size: int = 0

    def finish(self) -> None:
        """Build the lookup tables from `by_kind`."""
        self.line_set = set(self.lines)
        self.text_lengths = sorted({len(line) for kind in ("domain", "url") for line in self.by_kind[kind]})
        self.networks = sorted((IPv4Network(text) for text in self.by_kind["cidr"]), key=lambda n: int(n[0]))
        self.network_starts = [int(n[0]) for n in self.networks]
        self.network_ends = [int(n[-1]) for n in self.networks]
        self.max_network_size = max((n.num_addresses for n in self.networks), default=0)

    def in_network(self, address: str) -> bool:
        """Return whether `address` lies in one of the watchlist's networks."""
        value = int(IPv4Address(address))
        index = bisect.bisect_right(self.network_starts, value) - 1
        # Networks may nest, so walk back over every start that is close
        # enough for its network to reach `value`.
        while index >= 0 and value - self.network_starts[index] < self.max_network_size:
            if value <= self.network_ends[index]:
                return True
            index -= 1
        return False

    def matches(self, value: str, kind: str) -> bool:
        """Return whether an observed value matches an indicator, as iocwatch defines matching.

        Addresses match equal addresses and covering networks, domains match
        themselves and their subdomains, digests match equal digests.
        """
        if kind == "ip":
            return value in self.line_set or self.in_network(value)
        if kind == "domain":
            labels = value.split(".")
            return any(".".join(labels[start:]) in self.line_set for start in range(len(labels)))
        return value in self.line_set


def build_watchlist(count: int, seed: int) -> Watchlist:
    """Build a watchlist of `count` distinct indicators."""
    rng = Random(f"iocwatch-bench:{seed}:watchlist")
    targets = {kind: int(count * share) for kind, share in KIND_SHARES}
    targets["ip"] += count - sum(targets.values())

    seen: set[str] = set()
    by_kind: dict[str, list[str]] = {kind: [] for kind, _ in KIND_SHARES}

    def add(kind: str, value: str) -> None:
        if value not in seen:
            seen.add(value)
            by_kind[kind].append(value)

    while len(by_kind["ip"]) < targets["ip"]:
        octet = rng.choice(WATCH_OCTETS)
        add("ip", f"{octet}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")

    prefixes = [prefix for prefix, _ in CIDR_PREFIXES]
    weights = [weight for _, weight in CIDR_PREFIXES]
    while len(by_kind["cidr"]) < targets["cidr"]:
        octet = rng.choice(WATCH_OCTETS)
        prefix = rng.choices(prefixes, weights)[0]
        address = (octet << 24) | rng.getrandbits(24)
        add("cidr", str(IPv4Network((address, prefix), strict=False)))

    while len(by_kind["domain"]) < targets["domain"]:
        name = f"{random_label(rng)}.{rng.choice(WATCH_DOMAIN_SUFFIXES)}"
        if rng.random() < 0.2:
            name = f"{random_label(rng, 2, 6)}.{name}"
        add("domain", name)

    # URL hosts come from their own labels, so that no URL host is also a
    # domain indicator.
    domains = set(by_kind["domain"])
    while len(by_kind["url"]) < targets["url"]:
        host = f"{random_label(rng)}.{rng.choice(WATCH_DOMAIN_SUFFIXES)}"
        if host in domains:
            continue
        path = rng.choice(URL_PATHS).format(token=random_label(rng, 6, 10))
        scheme = "https" if rng.random() < 0.4 else "http"
        add("url", f"{scheme}://{host}/{path}")

    while len(by_kind["sha256"]) < targets["sha256"]:
        add("sha256", rng.randbytes(32).hex())
    while len(by_kind["md5"]) < targets["md5"]:
        add("md5", rng.randbytes(16).hex())

    lines = [line for kind, _ in KIND_SHARES for line in by_kind[kind]]
    rng.shuffle(lines)
    watchlist = Watchlist(by_kind=by_kind, lines=lines)
    watchlist.finish()
    return watchlist


def random_label(rng: Random, shortest: int = 5, longest: int = 12) -> str:
    """Return a random lower-case host label that starts with a letter."""
    length = rng.randint(shortest, longest)
    return rng.choice(LOWER) + "".join(rng.choices(LOWER_ALNUM, k=length - 1))


# ---------------------------------------------------------------------------
# Substring check
# ---------------------------------------------------------------------------

DOTTED_RUN = re.compile(r"[0-9]+(?:\.[0-9]+){3,}(?:/[0-9]+)?")
HEX_RUN = re.compile(r"[0-9a-f]{32,}")
# Characters that watchlist domains and URLs are made of.
TEXT_RUN = re.compile(r"[a-z0-9.:/?=&_%~+-]*example[a-z0-9.:/?=&_%~+-]*")


class SubstringChecker:
    """Decides exactly whether a line contains any watchlist line as a substring.

    Each watchlist line has one of three shapes, and a substring of that
    shape can only lie inside a matching run of the line:

    - addresses and networks: digits and dots (and one `/`), inside a run of
      dotted numbers;
    - domains and URLs: they all contain "example", inside a run of host
      and URL characters around that word;
    - MD5 and SHA-256 digests: inside a run of at least 32 lower-case hex
      digits.

    Every candidate substring of those runs is looked up in the watchlist.
    """

    def __init__(self, watchlist: Watchlist) -> None:
        self.lines = watchlist.line_set
        self.text_lengths = watchlist.text_lengths
        # The first two octets of every address and network ("45.12."), so
        # that most dotted runs are dismissed after one lookup.
        self.dotted_heads: set[str] = set()
        for line in watchlist.lines:
            if DOTTED_RUN.fullmatch(line):
                first, second, _ = line.split(".", 2)
                self.dotted_heads.add(f"{first}.{second}.")
        for line in watchlist.lines:
            if not (DOTTED_RUN.fullmatch(line) or "example" in line or HEX_RUN.fullmatch(line)):
                raise ValueError(f"watchlist line {line!r} has a shape the substring check does not cover")

    def line_hits(self, line: str) -> bool:
        """Return whether `line` contains a watchlist line as a substring."""
        if "example" in line and self._text_hits(line):
            return True
        for run in DOTTED_RUN.finditer(line):
            if self._dotted_hits(run.group()):
                return True
        for run in HEX_RUN.finditer(line):
            if self._hex_hits(run.group()):
                return True
        return False

    def _text_hits(self, line: str) -> bool:
        lines = self.lines
        for match in TEXT_RUN.finditer(line):
            run = match.group()
            for start in range(len(run)):
                for length in self.text_lengths:
                    if start + length > len(run):
                        break
                    if run[start : start + length] in lines:
                        return True
        return False

    def _dotted_hits(self, run: str) -> bool:
        lines = self.lines
        run, _, prefix = run.partition("/")
        parts = run.split(".")
        for first in range(len(parts) - 3):
            head = parts[first]
            last = parts[first + 3]
            middle = f".{parts[first + 1]}.{parts[first + 2]}."
            for cut in range(max(0, len(head) - 3), len(head)):
                if f"{head[cut:]}.{parts[first + 1]}." not in self.dotted_heads:
                    continue
                stem = head[cut:] + middle
                for end in range(1, min(3, len(last)) + 1):
                    if stem + last[:end] in lines:
                        return True
                # A network needs the whole last octet followed by "/".
                if prefix and first + 3 == len(parts) - 1:
                    for end in range(1, min(2, len(prefix)) + 1):
                        if f"{stem}{last}/{prefix[:end]}" in lines:
                            return True
        return False

    def _hex_hits(self, run: str) -> bool:
        lines = self.lines
        for length in (32, 64):
            for start in range(len(run) - length + 1):
                if run[start : start + length] in lines:
                    return True
        return False


# ---------------------------------------------------------------------------
# Background traffic
# ---------------------------------------------------------------------------

HOST_WORDS = (
    "www api static cdn img assets login auth mail smtp portal app m update download media video "
    "telemetry events metrics sync files docs shop status news search ads track"
).split()
SYLLABLES = (
    "ka ro ven tal mi sor dex lu pan quin bri tor ela nov zen cor vis mar lin tek sol ari fen "
    "gal hup jor kel mon nux or pex ras sut uma vor wyn yel zor"
).split()
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Microsoft-CryptoAPI/10.0",
    "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Debian APT-HTTP/1.3 (2.6.1)",
)
HTTP_PATHS = (
    "/",
    "/index.html",
    "/favicon.ico",
    "/api/v2/status",
    "/static/js/app.{token}.js",
    "/static/css/main.{token}.css",
    "/images/{token}.png",
    "/v1/events?id={token}",
    "/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
    "/debian/dists/bookworm/InRelease",
    "/ocsp",
)
FILE_NAMES = ("/setup.exe", "/update.msi", "/report.pdf", "/archive.zip", "/image.png", "/app.js", "/data.bin")
CONTENT_TYPES = ("text/html", "application/json", "image/png", "application/javascript", "application/octet-stream")
TLS_ISSUERS = (
    "C=US, O=Let's Encrypt, CN=R3",
    "C=US, O=DigiCert Inc, CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1",
    "C=US, O=Google Trust Services LLC, CN=GTS CA 1C3",
    "C=GB, O=Sectigo Limited, CN=Sectigo RSA Domain Validation Secure Server CA",
)
ALERT_SIGNATURES = (
    (9100001, "BENCH POLICY outbound request with a command-line HTTP client", "Potential Corporate Privacy Violation", 3),
    (9100002, "BENCH INFO TLS handshake to a dynamic DNS provider", "Misc activity", 3),
    (9100003, "BENCH SCAN inbound TCP SYN sweep", "Attempted Information Leak", 2),
    (9100004, "BENCH HUNTING executable download over plain HTTP", "Potentially Bad Traffic", 2),
    (9100005, "BENCH DNS query for a very long subdomain", "Potentially Bad Traffic", 2),
)
TLS_CIPHERS_13 = "4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53"
TLS_EXTENSIONS = (
    "0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513",
    "0-23-65281-10-11-35-16-5-51-43-13-45-28-21",
    "0-5-10-11-13-35-16-23-43-45-51-65281",
)

# Connection profiles: (weight, proto, destination port, Zeek service,
# destination space). The space is "ext" for a background address,
# "int" for an internal one and "dns" for an internal resolver.
CONN_PROFILES = (
    (40, "tcp", 443, "ssl", "ext"),
    (10, "tcp", 80, "http", "ext"),
    (22, "udp", 53, "dns", "dns"),
    (3, "udp", 53, "dns", "ext"),
    (3, "udp", 123, "ntp", "ext"),
    (2, "tcp", 22, "ssh", "ext"),
    (2, "tcp", 993, "ssl", "ext"),
    (1, "tcp", 25, "smtp", "ext"),
    (3, "icmp", 0, "-", "ext"),
    (6, "tcp", 445, "smb", "int"),
    (3, "tcp", 3389, "-", "int"),
    (5, "tcp", 8443, "-", "ext"),
)
CONN_STATES = (("SF", 72), ("S0", 9), ("REJ", 4), ("RSTO", 4), ("RSTR", 2), ("SH", 3), ("S1", 2), ("OTH", 4))


class Traffic:
    """Pools of background hosts and names, and the random values of records."""

    def __init__(self, seed: int, label: str) -> None:
        self.rng = Random(f"iocwatch-bench:{seed}:traffic:{label}")
        pools = Random(f"iocwatch-bench:{seed}:pools")
        # External destinations, from most to least popular.
        external: list[str] = []
        seen: set[str] = set()
        while len(external) < 60_000:
            octet = pools.choice(BACKGROUND_OCTETS)
            address = f"{octet}.{pools.randrange(256)}.{pools.randrange(256)}.{pools.randrange(1, 255)}"
            if address not in seen:
                seen.add(address)
                external.append(address)
        self.external = external
        self.internal = [f"10.{pools.randrange(1, 40)}.{pools.randrange(256)}.{pools.randrange(2, 255)}" for _ in range(3000)]
        self.internal += [f"192.168.{pools.randrange(0, 8)}.{pools.randrange(2, 255)}" for _ in range(500)]
        self.resolvers = ["10.0.0.53", "10.0.1.53", "192.168.0.1"]
        self.domains = self._background_domains(pools, 20_000)
        self.ja3 = [
            (pools.randbytes(16).hex(), f"771,{TLS_CIPHERS_13},{extensions},29-23-24,0")
            for extensions in TLS_EXTENSIONS
            for _ in range(3)
        ]
        self.ja3s = [(pools.randbytes(16).hex(), f"771,{cipher},43-51") for cipher in (4865, 4866, 4867, 49199)]
        self.profile_weights = list(itertools.accumulate(weight for weight, *_ in CONN_PROFILES))
        self.state_weights = list(itertools.accumulate(weight for _, weight in CONN_STATES))
        self.clock = float(START_EPOCH)
        self._second = -1
        self._second_text = ""

    @staticmethod
    def _background_domains(rng: Random, count: int) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < count:
            company = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))
            name = f"{rng.choice(HOST_WORDS)}.{company}.{BACKGROUND_TLD}"
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def tick(self) -> float:
        """Advance the clock by a short random gap and return it."""
        self.clock += self.rng.expovariate(1000.0)
        return self.clock

    def iso_time(self, epoch: float) -> str:
        """Format `epoch` as an EVE timestamp, such as 2024-03-01T00:00:00.123456+0000."""
        second = int(epoch)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((epoch - second) * 1e6):06d}+0000"

    def external_host(self) -> str:
        # Cubing the uniform draw makes a few destinations very popular,
        # as real traffic is.
        return self.external[int(len(self.external) * self.rng.random() ** 3)]

    def internal_host(self) -> str:
        return self.internal[int(len(self.internal) * self.rng.random() ** 2)]

    def domain(self) -> str:
        return self.domains[int(len(self.domains) * self.rng.random() ** 3)]

    def uid(self) -> str:
        return "C" + "".join(self.rng.choices(ALNUM, k=17))

    def community_id(self) -> str:
        return "1:" + base64.b64encode(self.rng.randbytes(20)).decode("ascii")

    def profile(self) -> tuple[int, str, int, str, str]:
        return CONN_PROFILES[bisect.bisect_right(self.profile_weights, self.rng.random() * self.profile_weights[-1])]

    def conn_state(self) -> str:
        return CONN_STATES[bisect.bisect_right(self.state_weights, self.rng.random() * self.state_weights[-1])][0]


# ---------------------------------------------------------------------------
# Zeek conn records
# ---------------------------------------------------------------------------


def conn_record(traffic: Traffic, destination: str | None = None) -> dict[str, object]:
    """Build one Zeek conn record, with None for unset fields.

    A given `destination` is used as the external peer of a TLS connection.
    """
    rng = traffic.rng
    _, proto, port, service, space = traffic.profile()
    if destination is not None and space != "ext":
        proto, port, service = "tcp", 443, "ssl"
    if destination is None:
        if space == "ext":
            destination = traffic.external_host()
        elif space == "dns":
            destination = rng.choice(traffic.resolvers)
        else:
            destination = traffic.internal_host()
    state = "SF" if proto != "tcp" else traffic.conn_state()
    if proto == "icmp":
        orig_port, port = 8, 0
    else:
        orig_port = rng.randrange(32768, 61000)

    record: dict[str, object] = {
        "ts": traffic.tick(),
        "uid": traffic.uid(),
        "id.orig_h": traffic.internal_host(),
        "id.orig_p": orig_port,
        "id.resp_h": destination,
        "id.resp_p": port,
        "proto": proto,
        "service": None if service == "-" or state in ("S0", "REJ") else service,
        "duration": None,
        "orig_bytes": None,
        "resp_bytes": None,
        "conn_state": state,
        "local_orig": True,
        "local_resp": destination.startswith(("10.", "192.168.")),
        "missed_bytes": 0,
        "history": None,
        "orig_pkts": 1,
        "orig_ip_bytes": 60,
        "resp_pkts": 0,
        "resp_ip_bytes": 0,
    }
    if state in ("S0", "REJ"):
        record["history"] = "S" if state == "S0" else "Sr"
        record["resp_pkts"] = 0 if state == "S0" else 1
        record["resp_ip_bytes"] = 0 if state == "S0" else 40
        return record

    if proto == "udp":
        orig_bytes = rng.randint(30, 120)
        resp_bytes = rng.randint(40, 500)
        orig_pkts, resp_pkts = 1, 1
        history = "Dd"
        duration = rng.uniform(0.0005, 0.08)
        overhead = 28
    elif proto == "icmp":
        orig_pkts = rng.randint(1, 4)
        resp_pkts = orig_pkts
        orig_bytes = resp_bytes = 56 * orig_pkts
        history = "-"
        duration = rng.uniform(0.001, 3.0)
        overhead = 28
    else:
        orig_bytes = int(rng.lognormvariate(7.0, 1.2))
        resp_bytes = int(rng.lognormvariate(8.5, 2.0))
        orig_pkts = max(3, orig_bytes // 1200 + rng.randint(3, 8))
        resp_pkts = max(2, resp_bytes // 1400 + rng.randint(2, 6))
        history = rng.choice(("ShADadFf", "ShADadfF", "ShADdaFf", "ShADadFfR", "ShAdDaFf")) if state == "SF" else rng.choice(("ShADadR", "ShADr", "ShAD", "ShADa"))
        duration = rng.lognormvariate(-1.0, 1.8)
        overhead = 52
    record.update(
        duration=duration,
        orig_bytes=orig_bytes,
        resp_bytes=resp_bytes,
        history=history,
        orig_pkts=orig_pkts,
        orig_ip_bytes=orig_bytes + overhead * orig_pkts,
        resp_pkts=resp_pkts,
        resp_ip_bytes=resp_bytes + overhead * resp_pkts,
    )
    return record


def zeek_tsv_header() -> str:
    """Return the header lines of a Zeek conn log in TSV."""
    return (
        "#separator \\x09\n"
        "#set_separator\t,\n"
        "#empty_field\t(empty)\n"
        "#unset_field\t-\n"
        "#path\tconn\n"
        "#open\t2024-03-01-00-00-00\n"
        "#fields\t" + "\t".join(ZEEK_CONN_FIELDS) + "\n"
        "#types\t" + "\t".join(ZEEK_CONN_TYPES) + "\n"
    )


def zeek_tsv_line(record: dict[str, object]) -> str:
    """Render a conn record as a Zeek TSV line, with `-` for unset fields."""
    duration = record["duration"]
    values = [
        f"{record['ts']:.6f}",
        record["uid"],
        record["id.orig_h"],
        str(record["id.orig_p"]),
        record["id.resp_h"],
        str(record["id.resp_p"]),
        record["proto"],
        record["service"] or "-",
        "-" if duration is None else f"{duration:.6f}",
        "-" if record["orig_bytes"] is None else str(record["orig_bytes"]),
        "-" if record["resp_bytes"] is None else str(record["resp_bytes"]),
        record["conn_state"],
        "T" if record["local_orig"] else "F",
        "T" if record["local_resp"] else "F",
        "0",
        record["history"] or "-",
        str(record["orig_pkts"]),
        str(record["orig_ip_bytes"]),
        str(record["resp_pkts"]),
        str(record["resp_ip_bytes"]),
        "-",
    ]
    return "\t".join(values) + "\n"


JSON_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def zeek_json_line(record: dict[str, object]) -> str:
    """Render a conn record as a Zeek JSON line. Unset fields are left out, as Zeek does."""
    document = {key: value for key, value in record.items() if value is not None}
    document["ts"] = round(record["ts"], 6)
    if "duration" in document:
        document["duration"] = round(document["duration"], 6)
    return JSON_ENCODE(document) + "\n"


# ---------------------------------------------------------------------------
# Suricata EVE records
# ---------------------------------------------------------------------------

EVE_TYPES = (("flow", 38), ("dns", 27), ("tls", 14), ("http", 12), ("fileinfo", 5), ("alert", 4))


class EveWriter:
    """Builds Suricata EVE events with the nested keys Suricata 7 writes."""

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.type_weights = list(itertools.accumulate(weight for _, weight in EVE_TYPES))

    def background(self) -> str:
        rng = self.traffic.rng
        index = bisect.bisect_right(self.type_weights, rng.random() * self.type_weights[-1])
        event_type = EVE_TYPES[index][0]
        return getattr(self, event_type)()

    def _head(self, event_type: str, src: str, src_port: int, dest: str, dest_port: int, proto: str) -> dict[str, object]:
        traffic = self.traffic
        return {
            "timestamp": traffic.iso_time(traffic.tick()),
            "flow_id": traffic.rng.getrandbits(51),
            "in_iface": "eth0",
            "event_type": event_type,
            "src_ip": src,
            "src_port": src_port,
            "dest_ip": dest,
            "dest_port": dest_port,
            "proto": proto,
            "pkt_src": "wire/pcap",
            "community_id": traffic.community_id(),
        }

    def _client_port(self) -> int:
        return self.traffic.rng.randrange(32768, 61000)

    def _flow_stats(self, start: float, app_proto: str | None) -> dict[str, object]:
        rng = self.traffic.rng
        to_server = rng.randint(1, 40)
        to_client = rng.randint(0, 60)
        age = rng.randint(0, 120)
        flow: dict[str, object] = {
            "pkts_toserver": to_server,
            "pkts_toclient": to_client,
            "bytes_toserver": to_server * rng.randint(60, 900),
            "bytes_toclient": to_client * rng.randint(60, 1400),
            "start": self.traffic.iso_time(start - age),
            "end": self.traffic.iso_time(start),
            "age": age,
            "state": rng.choice(("closed", "established", "new")),
            "reason": rng.choice(("timeout", "timeout", "shutdown")),
            "alerted": False,
        }
        if app_proto is None:
            del flow["state"]
        return flow

    def flow(self, dest: str | None = None) -> str:
        traffic = self.traffic
        rng = traffic.rng
        _, proto, port, service, space = traffic.profile()
        if dest is not None and space != "ext":
            proto, port, service = "tcp", 443, "ssl"
        if dest is None:
            dest = {"ext": traffic.external_host, "int": traffic.internal_host}.get(space, lambda: rng.choice(traffic.resolvers))()
        event = self._head("flow", traffic.internal_host(), self._client_port(), dest, port, proto.upper())
        app_proto = {"ssl": "tls", "http": "http", "dns": "dns", "ssh": "ssh", "smb": "smb", "smtp": "smtp"}.get(service, "failed")
        event["app_proto"] = app_proto
        event["flow"] = self._flow_stats(traffic.clock, app_proto)
        if proto == "tcp":
            flags = rng.choice(("1b", "1f", "1e", "02", "16"))
            event["tcp"] = {
                "tcp_flags": flags,
                "tcp_flags_ts": flags,
                "tcp_flags_tc": "1b",
                "syn": True,
                "fin": flags in ("1b", "1f"),
                "psh": True,
                "ack": True,
                "state": "closed",
            }
        return JSON_ENCODE(event) + "\n"

    def dns(self, rrname: str | None = None) -> str:
        traffic = self.traffic
        rng = traffic.rng
        client = traffic.internal_host()
        resolver = rng.choice(traffic.resolvers)
        name = rrname or traffic.domain()
        port = self._client_port()
        rrtype = "A" if rrname or rng.random() < 0.8 else rng.choice(("AAAA", "HTTPS"))
        query_id = rng.randrange(65536)
        if rrname is None and rng.random() < 0.45:
            event = self._head("dns", client, port, resolver, 53, "UDP")
            event["dns"] = {"type": "query", "id": query_id, "rrname": name, "rrtype": rrtype, "tx_id": 0, "opcode": 0}
            return JSON_ENCODE(event) + "\n"

        event = self._head("dns", resolver, 53, client, port, "UDP")
        answers: list[dict[str, object]] = []
        grouped: dict[str, list[str]] = {}
        owner = name
        if rng.random() < 0.35:
            alias = traffic.domain()
            answers.append({"rrname": owner, "rrtype": "CNAME", "ttl": rng.randint(30, 3600), "rdata": alias})
            grouped["CNAME"] = [alias]
            owner = alias
        if rrtype == "A":
            addresses = [traffic.external_host() for _ in range(rng.randint(1, 4))]
            for address in addresses:
                answers.append({"rrname": owner, "rrtype": "A", "ttl": rng.randint(30, 3600), "rdata": address})
            grouped["A"] = addresses
        event["dns"] = {
            "version": 2,
            "type": "answer",
            "id": query_id,
            "flags": "8180",
            "qr": True,
            "rd": True,
            "ra": True,
            "opcode": 0,
            "rrname": name,
            "rrtype": rrtype,
            "rcode": "NOERROR",
            "answers": answers,
            "grouped": grouped,
        }
        if not answers:
            del event["dns"]["answers"]
            del event["dns"]["grouped"]
        return JSON_ENCODE(event) + "\n"

    def _http_section(self, hostname: str, url: str | None = None) -> dict[str, object]:
        rng = self.traffic.rng
        section: dict[str, object] = {
            "hostname": hostname,
            "url": url or rng.choice(HTTP_PATHS).format(token=rng.randbytes(4).hex()),
            "http_user_agent": rng.choice(USER_AGENTS),
            "http_content_type": rng.choice(CONTENT_TYPES),
            "http_method": "GET" if rng.random() < 0.85 else "POST",
            "protocol": "HTTP/1.1",
            "status": rng.choice((200, 200, 200, 204, 301, 304, 404)),
            "length": rng.randint(0, 50_000),
        }
        if rng.random() < 0.3:
            section["http_refer"] = f"http://{self.traffic.domain()}/"
        return section

    def http(self, hostname: str | None = None) -> str:
        traffic = self.traffic
        event = self._head("http", traffic.internal_host(), self._client_port(), traffic.external_host(), 80, "TCP")
        event["tx_id"] = traffic.rng.randrange(4)
        event["http"] = self._http_section(hostname or traffic.domain())
        return JSON_ENCODE(event) + "\n"

    def tls(self, sni: str | None = None) -> str:
        traffic = self.traffic
        rng = traffic.rng
        name = sni or traffic.domain()
        event = self._head("tls", traffic.internal_host(), self._client_port(), traffic.external_host(), 443, "TCP")
        ja3_hash, ja3_string = rng.choice(traffic.ja3)
        ja3s_hash, ja3s_string = rng.choice(traffic.ja3s)
        section: dict[str, object] = {}
        # TLS 1.3 encrypts the certificate, so Suricata logs none.
        if rng.random() < 0.4:
            section.update(
                subject=f"CN={name}",
                issuerdn=rng.choice(TLS_ISSUERS),
                serial=":".join(f"{byte:02X}" for byte in rng.randbytes(12)),
                fingerprint=":".join(f"{byte:02x}" for byte in rng.randbytes(20)),
                version="TLS 1.2",
                notbefore="2024-01-15T00:00:00",
                notafter="2024-04-14T23:59:59",
            )
        else:
            section["version"] = "TLS 1.3"
        section["sni"] = name
        section["ja3"] = {"hash": ja3_hash, "string": ja3_string}
        section["ja3s"] = {"hash": ja3s_hash, "string": ja3s_string}
        event["tls"] = section
        return JSON_ENCODE(event) + "\n"

    def fileinfo(self, sha256: str | None = None) -> str:
        traffic = self.traffic
        rng = traffic.rng
        event = self._head("fileinfo", traffic.external_host(), 80, traffic.internal_host(), self._client_port(), "TCP")
        filename = rng.choice(FILE_NAMES)
        event["http"] = self._http_section(traffic.domain(), filename)
        event["app_proto"] = "http"
        event["fileinfo"] = {
            "filename": filename,
            "sid": [],
            "gaps": False,
            "state": "CLOSED",
            "md5": rng.randbytes(16).hex(),
            "sha1": rng.randbytes(20).hex(),
            "sha256": sha256 or rng.randbytes(32).hex(),
            "stored": False,
            "size": rng.randint(200, 5_000_000),
            "tx_id": 0,
        }
        return JSON_ENCODE(event) + "\n"

    def alert(self) -> str:
        traffic = self.traffic
        rng = traffic.rng
        signature_id, signature, category, severity = rng.choice(ALERT_SIGNATURES)
        event = self._head("alert", traffic.internal_host(), self._client_port(), traffic.external_host(), 443, "TCP")
        event["tx_id"] = 0
        event["alert"] = {
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id,
            "rev": rng.randint(1, 9),
            "signature": signature,
            "category": category,
            "severity": severity,
            "metadata": {"created_at": ["2024_01_10"], "signature_severity": ["Minor"]},
        }
        event["app_proto"] = "tls"
        event["direction"] = "to_server"
        event["flow"] = self._flow_stats(traffic.clock, "tls")
        return JSON_ENCODE(event) + "\n"


# ---------------------------------------------------------------------------
# Planted and decoy records
# ---------------------------------------------------------------------------

# Observables of planted EVE records, with weights.
EVE_PLANTS = (("dest_ip", 30), ("dns_rrname", 20), ("http_hostname", 20), ("tls_sni", 15), ("fileinfo_sha256", 15))
EVE_DECOYS = (("dest_ip", 40), ("dns_rrname", 20), ("http_hostname", 15), ("tls_sni", 10), ("fileinfo_sha256", 15))


class Specials:
    """Chooses the values of planted and decoy records."""

    def __init__(self, watchlist: Watchlist, rng: Random) -> None:
        self.watchlist = watchlist
        self.rng = rng
        # Indicators are drawn without repetition while the list lasts, so
        # plants are spread over many indicators.
        self._decks: dict[str, list[str]] = {}

    def _draw(self, kind: str) -> str:
        deck = self._decks.get(kind)
        if not deck:
            deck = list(self.watchlist.by_kind[kind])
            self.rng.shuffle(deck)
            self._decks[kind] = deck
        return deck.pop()

    def planted_address(self) -> tuple[str, str]:
        """Return a matching address and whether it came from an address or a network."""
        if self.rng.random() < 0.15 and self.watchlist.by_kind["cidr"]:
            network = IPv4Network(self._draw("cidr"))
            address = str(network[self.rng.randrange(network.num_addresses)])
            return address, "address in network"
        return self._draw("ip"), "address"

    def planted_domain(self) -> tuple[str, str]:
        """Return a matching name: a domain indicator, or one of its subdomains."""
        domain = self._draw("domain")
        if self.rng.random() < 0.2:
            return f"www.{domain}", "subdomain"
        return domain, "domain"

    def planted_sha256(self) -> tuple[str, str]:
        return self._draw("sha256"), "sha256"

    def decoy_address(self) -> str:
        """Return an address that contains a watchlist address but matches nothing."""
        while True:
            indicator = self._draw("ip")
            decoy = "1" + indicator
            last = int(indicator.rsplit(".", 1)[1])
            if last <= 25 and self.rng.random() < 0.5:
                decoy += str(self.rng.randint(0, 5 if last == 25 else 9))
            if not self.watchlist.matches(decoy, "ip"):
                return decoy

    def decoy_domain(self) -> str:
        """Return a name that contains a watchlist domain but matches none."""
        while True:
            indicator = self._draw("domain")
            if self.rng.random() < 0.6:
                decoy = self.rng.choice(("not", "my", "web", "x", "cdn")) + indicator
            else:
                decoy = indicator + self.rng.choice((".lan", ".internal", "-cache.test"))
            if not self.watchlist.matches(decoy, "domain") and decoy not in self.watchlist.line_set:
                return decoy

    def decoy_sha256(self) -> str:
        """Return a SHA-256 whose first 32 digits are a watchlist MD5."""
        while True:
            decoy = self._draw("md5") + self.rng.randbytes(16).hex()
            if not self.watchlist.matches(decoy, "sha256"):
                return decoy


# ---------------------------------------------------------------------------
# Corpus writing
# ---------------------------------------------------------------------------


@dataclass
class Expected:
    """Counts and special line numbers of a corpus, as written to its sidecar file."""

    corpus: str
    format: str
    seed: int
    watchlist: str
    indicators: int
    bytes: int = 0
    lines: int = 0
    records: int = 0
    expected_alerts: int = 0
    planted_by_observable: dict[str, int] = field(default_factory=dict)
    decoy_lines: int = 0
    decoys_by_observable: dict[str, int] = field(default_factory=dict)
    expected_substring_lines: int = 0
    substring_lines_by_origin: dict[str, int] = field(default_factory=lambda: {"planted": 0, "decoy": 0, "background": 0})
    # 1-based line numbers and byte offsets of the special lines.
    planted_line_numbers: list[int] = field(default_factory=list)
    planted_offsets: list[int] = field(default_factory=list)
    decoy_line_numbers: list[int] = field(default_factory=list)
    decoy_offsets: list[int] = field(default_factory=list)


def corpus_name(fmt: str, size_mb: float, indicators: int, seed: int) -> str:
    size = f"{size_mb:g}"
    extension = {"zeek-tsv": "log", "zeek-json": "log", "eve": "json"}[fmt]
    return f"{fmt}_{size}MB_i{indicators}_s{seed}.{extension}"


def watchlist_name(indicators: int, seed: int) -> str:
    return f"watchlist_i{indicators}_s{seed}.txt"


def pick_weighted(rng: Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def write_corpus(
    fmt: str,
    path: Path,
    size_bytes: int,
    planted: int,
    decoys: int,
    watchlist: Watchlist,
    checker: SubstringChecker,
    expected: Expected,
    seed: int,
) -> None:
    """Write one corpus of about `size_bytes` bytes and fill in `expected`."""
    traffic = Traffic(seed, fmt)
    specials = Specials(watchlist, Random(f"iocwatch-bench:{seed}:specials:{fmt}"))
    eve = EveWriter(traffic)

    def background() -> str:
        if fmt == "eve":
            return eve.background()
        record = conn_record(traffic)
        return zeek_tsv_line(record) if fmt == "zeek-tsv" else zeek_json_line(record)

    def conn_with(destination: str) -> str:
        record = conn_record(traffic, destination)
        return zeek_tsv_line(record) if fmt == "zeek-tsv" else zeek_json_line(record)

    def planted_line() -> tuple[str, str]:
        if fmt != "eve":
            address, origin = specials.planted_address()
            return conn_with(address), f"id.resp_h ({origin})"
        observable = pick_weighted(specials.rng, EVE_PLANTS)
        if observable == "dest_ip":
            address, origin = specials.planted_address()
            return eve.flow(dest=address), f"dest_ip ({origin})"
        if observable == "fileinfo_sha256":
            digest, origin = specials.planted_sha256()
            return eve.fileinfo(sha256=digest), f"fileinfo.sha256 ({origin})"
        name, origin = specials.planted_domain()
        if observable == "dns_rrname":
            return eve.dns(rrname=name), f"dns.rrname ({origin})"
        if observable == "http_hostname":
            return eve.http(hostname=name), f"http.hostname ({origin})"
        return eve.tls(sni=name), f"tls.sni ({origin})"

    def decoy_line() -> tuple[str, str]:
        if fmt != "eve":
            return conn_with(specials.decoy_address()), "id.resp_h"
        observable = pick_weighted(specials.rng, EVE_DECOYS)
        if observable == "dest_ip":
            return eve.flow(dest=specials.decoy_address()), "dest_ip"
        if observable == "fileinfo_sha256":
            return eve.fileinfo(sha256=specials.decoy_sha256()), "fileinfo.sha256"
        name = specials.decoy_domain()
        if observable == "dns_rrname":
            return eve.dns(rrname=name), "dns.rrname"
        if observable == "http_hostname":
            return eve.http(hostname=name), "http.hostname"
        return eve.tls(sni=name), "tls.sni"

    # Spread the special records over the first 97% of the estimated
    # number of records, measured on a sample drawn from a separate
    # generator so that the sample does not change the corpus.
    sample_traffic = Traffic(seed, fmt + ":sample")
    sample_eve = EveWriter(sample_traffic)
    sample = [
        sample_eve.background()
        if fmt == "eve"
        else (zeek_tsv_line if fmt == "zeek-tsv" else zeek_json_line)(conn_record(sample_traffic))
        for _ in range(2000)
    ]
    mean_length = sum(len(line) for line in sample) / len(sample)
    estimated_records = max(int(size_bytes / mean_length * 0.97), planted + decoys)
    slots = specials.rng.sample(range(estimated_records), planted + decoys)
    kinds = {slot: "planted" for slot in slots[:planted]}
    kinds.update({slot: "decoy" for slot in slots[planted:]})
    remaining = planted + decoys

    written = 0
    line_number = 0
    with path.open("w", encoding="ascii", newline="\n", buffering=4 * 1024 * 1024) as out:
        if fmt == "zeek-tsv":
            header = zeek_tsv_header()
            out.write(header)
            written += len(header)
            line_number += header.count("\n")
        record_index = 0
        while written < size_bytes or remaining > 0:
            origin = kinds.get(record_index, "background")
            if origin == "planted":
                line, observable = planted_line()
                expected.planted_by_observable[observable] = expected.planted_by_observable.get(observable, 0) + 1
                expected.planted_line_numbers.append(line_number + 1)
                expected.planted_offsets.append(written)
                remaining -= 1
            elif origin == "decoy":
                line, observable = decoy_line()
                expected.decoys_by_observable[observable] = expected.decoys_by_observable.get(observable, 0) + 1
                expected.decoy_line_numbers.append(line_number + 1)
                expected.decoy_offsets.append(written)
                remaining -= 1
            else:
                line = background()
            if checker.line_hits(line):
                expected.substring_lines_by_origin[origin] += 1
            out.write(line)
            written += len(line)
            line_number += 1
            record_index += 1
        if fmt == "zeek-tsv":
            footer = "#close\t" + time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(int(traffic.clock))) + "\n"
            out.write(footer)
            written += len(footer)
            line_number += 1

    expected.bytes = written
    expected.lines = line_number
    expected.records = record_index
    expected.expected_alerts = planted
    expected.decoy_lines = decoys
    expected.expected_substring_lines = sum(expected.substring_lines_by_origin.values())


def write_watchlist(watchlist: Watchlist, path: Path, seed: int) -> None:
    path.write_text("".join(line + "\n" for line in watchlist.lines), encoding="ascii")
    counts = {kind: len(values) for kind, values in watchlist.by_kind.items()}
    sidecar = {"watchlist": path.name, "seed": seed, "indicators": len(watchlist.lines), "by_kind": counts}
    Path(f"{path}.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="ascii")


def check_octet_tables() -> None:
    """Check that background addresses cannot contain a watchlist address."""
    watch = [str(octet) for octet in WATCH_OCTETS]
    for octet in BACKGROUND_OCTETS:
        if any(str(octet).endswith(suffix) for suffix in watch) or octet in DECOY_OCTETS:
            raise AssertionError(f"background octet {octet} ends in a watchlist octet or is a decoy octet")
    for octet in DECOY_OCTETS:
        if not 0 < octet < 224 or octet in (127, 169, 172, 192, 198):
            raise AssertionError(f"decoy octet {octet} is not a plain public /8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate a watchlist and synthetic Zeek and Suricata corpora for the iocwatch benchmark.",
    )

    parser.add_argument(
        "--out", type=Path, default=Path("bench/out"), metavar="DIR", help="output directory (default: bench/out)"
    )
    parser.add_argument(
        "--indicators", type=int, default=100_000, metavar="N", help="watchlist size (default: 100000)"
    )
    parser.add_argument(
        "--size-mb", type=float, default=100.0, metavar="MB", help="size of each corpus in MB of 10^6 bytes (default: 100)"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="N", help="seed for every random choice (default: 1)")
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        metavar="LIST",
        help=f"comma-separated corpora to write, from {', '.join(FORMATS)}, or 'none' to write only the "
        "watchlist (default: all)",
    )
    parser.add_argument("--planted", type=int, default=1000, metavar="N", help="matching records per corpus (default: 1000)")
    parser.add_argument(
        "--decoys", type=int, default=1000, metavar="N", help="records per corpus that contain an indicator as a substring "
        "without matching it (default: 1000)"
    )
    parser.add_argument("--force", action="store_true", help="rewrite corpora that already exist")

    args = parser.parse_args(argv)
    args.formats = [] if args.formats == "none" else [name.strip() for name in args.formats.split(",") if name.strip()]
    for name in args.formats:
        if name not in FORMATS:
            parser.error(f"unknown format {name!r}; expected one of {', '.join(FORMATS)} or 'none'")
    if args.indicators < 1:
        parser.error("--indicators must be at least 1")
    if args.size_mb < 0 or args.planted < 0 or args.decoys < 0:
        parser.error("--size-mb, --planted and --decoys must not be negative")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    check_octet_tables()
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    watchlist = build_watchlist(args.indicators, args.seed)
    list_path = args.out / watchlist_name(args.indicators, args.seed)
    if args.force or not list_path.exists():
        write_watchlist(watchlist, list_path, args.seed)
    print(f"watchlist {list_path}: {len(watchlist.lines)} indicators", file=sys.stderr)

    if args.planted > len(watchlist.by_kind["ip"]) or args.decoys > len(watchlist.by_kind["ip"]):
        print(
            f"error: --planted {args.planted} and --decoys {args.decoys} must each be at most "
            f"{len(watchlist.by_kind['ip'])}, the number of address indicators: raise --indicators",
            file=sys.stderr,
        )
        return 2
    checker = SubstringChecker(watchlist)
    for fmt in args.formats:
        path = args.out / corpus_name(fmt, args.size_mb, args.indicators, args.seed)
        sidecar = Path(f"{path}.expected.json")
        if not args.force and path.exists() and sidecar.exists():
            print(f"{fmt}: {path} exists, skipped (use --force to rewrite it)", file=sys.stderr)
            continue
        expected = Expected(
            corpus=path.name, format=fmt, seed=args.seed, watchlist=list_path.name, indicators=len(watchlist.lines)
        )
        begun = time.monotonic()
        write_corpus(
            fmt, path, int(args.size_mb * 1e6), args.planted, args.decoys, watchlist, checker, expected, args.seed
        )
        sidecar.write_text(json.dumps(expected.__dict__, indent=1) + "\n", encoding="ascii")
        print(
            f"{fmt}: {path} {expected.bytes / 1e6:.1f} MB, {expected.records} records, "
            f"{expected.expected_alerts} planted, {expected.expected_substring_lines} lines with a substring hit, "
            f"{time.monotonic() - begun:.0f} s",
            file=sys.stderr,
        )
    print(f"done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
