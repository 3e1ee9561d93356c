//! Integration tests of the sinks, against real receivers on loopback:
//! rsyslog for syslog, aiosmtpd for e-mail, and an HTTP server in the
//! test for webhooks. A missing receiver skips its tests with a printed
//! reason, or fails them when `IOCWATCH_REQUIRE_REAL=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod cef;
mod config;
mod email;
mod file;
mod messages;
mod support;
mod syslog;
mod webhook;
