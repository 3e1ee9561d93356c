//! `iocwatch user` and `iocwatch token`: accounts of the web console and
//! HTTP API.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use iocwatch_store::{CLI_ACTOR, Store, UserChange};
use serde_json::json;
use time::OffsetDateTime;

use crate::args::{TokenCommand, UserCommand};
use crate::output::{print_table, short_time};

/// Runs one `user` command against the store in `data_dir`.
pub fn run_user(data_dir: &Path, command: UserCommand) -> Result<ExitCode> {
    let store = Store::open(data_dir)?;
    let now = OffsetDateTime::now_utc();
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let password = read_password(password_stdin, &name)?;
            store.add_user(&name, &password, role, CLI_ACTOR, now)?;
            println!("created user {name} with role {role}");
        }
        UserCommand::List { json } => {
            let users = store.users()?;
            if json {
                for user in &users {
                    let line = json!({
                        "name": user.name,
                        "role": user.role.as_str(),
                        "disabled": user.disabled,
                        "created_at": iocwatch_model::time::format_timestamp(user.created_at),
                    });
                    println!("{line}");
                }
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|user| {
                        vec![
                            user.name.clone(),
                            user.role.to_string(),
                            if user.disabled { "disabled" } else { "enabled" }.to_owned(),
                            short_time(user.created_at),
                        ]
                    })
                    .collect();
                print_table(&["NAME", "ROLE", "STATE", "CREATED"], &rows);
            }
        }
        UserCommand::Passwd { name, password_stdin } => {
            store.user(&name)?.with_context(|| {
                format!("no user is named {name:?}; `iocwatch user list` shows the users")
            })?;
            let password = read_password(password_stdin, &name)?;
            let change = UserChange {
                password: Some(password),
                ..UserChange::default()
            };
            store.update_user(&name, &change, CLI_ACTOR, now)?;
            println!("password of {name} changed; its sessions have ended");
        }
        UserCommand::Role { name, role } => {
            let change = UserChange {
                role: Some(role),
                ..UserChange::default()
            };
            store.update_user(&name, &change, CLI_ACTOR, now)?;
            println!("{name} is now {role}");
        }
        UserCommand::Disable { name } => {
            let change = UserChange {
                disabled: Some(true),
                ..UserChange::default()
            };
            store.update_user(&name, &change, CLI_ACTOR, now)?;
            println!("disabled {name}");
        }
        UserCommand::Enable { name } => {
            let change = UserChange {
                disabled: Some(false),
                ..UserChange::default()
            };
            store.update_user(&name, &change, CLI_ACTOR, now)?;
            println!("enabled {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one `token` command against the store in `data_dir`.
pub fn run_token(data_dir: &Path, command: TokenCommand) -> Result<ExitCode> {
    let store = Store::open(data_dir)?;
    let now = OffsetDateTime::now_utc();
    match command {
        TokenCommand::Create { user, name } => {
            let (token, secret) = store.create_token(&user, &name, CLI_ACTOR, now)?;
            eprintln!(
                "created token {} for {user}; the secret is shown only this once:",
                token.id
            );
            println!("{secret}");
        }
        TokenCommand::List { user, json } => {
            let tokens = store.tokens(user.as_deref())?;
            if json {
                for token in &tokens {
                    let line = json!({
                        "id": token.id,
                        "owner": token.owner,
                        "name": token.name,
                        "created_at": iocwatch_model::time::format_timestamp(token.created_at),
                        "last_used_at": token.last_used_at.map(iocwatch_model::time::format_timestamp),
                        "revoked_at": token.revoked_at.map(iocwatch_model::time::format_timestamp),
                    });
                    println!("{line}");
                }
            } else {
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|token| {
                        vec![
                            token.id.clone(),
                            token.owner.clone(),
                            token.revoked_at.map_or_else(
                                || "active".to_owned(),
                                |at| format!("revoked {}", short_time(at)),
                            ),
                            token.last_used_at.map_or_else(|| "never".to_owned(), short_time),
                            token.name.clone(),
                        ]
                    })
                    .collect();
                print_table(&["ID", "OWNER", "STATE", "LAST USED", "NAME"], &rows);
            }
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(&id, CLI_ACTOR, now)?;
            println!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a password from the first line of standard input, or from a
/// prompt on the terminal asked twice.
fn read_password(from_stdin: bool, name: &str) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("standard input has no password; write it on the first line");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password(format!("password for {name}: "))
        .context("cannot read the password from the terminal; use --password-stdin")?;
    let second = rpassword::prompt_password("repeat the password: ")
        .context("cannot read the password from the terminal; use --password-stdin")?;
    if first != second {
        bail!("the passwords differ; run the command again");
    }
    Ok(first)
}
