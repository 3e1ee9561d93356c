//! The `iocwatch` binary: argument parsing and dispatch.

mod alerts;
mod allowlist;
mod args;
mod export;
mod intel;
mod lookup;
mod output;
mod paths;
mod progress;
mod run;
mod scan;
mod users;
mod watchlist;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, ConfigCommand};

/// Exit status when an error kept an input from being read.
pub(crate) const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let before_command = cli.data_dir;
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Lookup(args) => lookup::run(args),
        Command::Watchlist(args) => watchlist::run(&data_dir(args.data_dir, before_command), args.command),
        Command::Allowlist(args) => allowlist::run(&data_dir(args.data_dir, before_command), args.command),
        Command::Alerts(args) => alerts::run(&data_dir(args.data_dir, before_command), args.command),
        Command::Run(mut args) => {
            let dir = args.data_dir.take().or(before_command);
            run::run(args, dir)
        }
        Command::Config(ConfigCommand::Check(args)) => run::check(args),
        Command::User(args) => users::run_user(&data_dir(args.data_dir, before_command), args.command),
        Command::Token(args) => users::run_token(&data_dir(args.data_dir, before_command), args.command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if !is_broken_pipe(&err) {
                let prefix = if io::stderr().is_terminal() {
                    "\x1b[31merror\x1b[0m"
                } else {
                    "error"
                };
                eprintln!("{prefix}: {err:#}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Returns the data directory given with `--data-dir` after the command name,
/// else the one given before it, else the default one.
fn data_dir(after_command: Option<PathBuf>, before_command: Option<PathBuf>) -> PathBuf {
    after_command
        .or(before_command)
        .unwrap_or_else(|| PathBuf::from(iocwatch_pipeline::config::DEFAULT_DATA_DIR))
}

/// Makes a closed standard output (`iocwatch alerts list | head`) end the
/// process quietly with the error status instead of a panic message: the
/// listing commands print with `println!`, which panics on a broken pipe.
fn exit_quietly_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(i32::from(EXIT_ERROR));
        }
        default_hook(info);
    }));
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}
