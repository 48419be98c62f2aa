//! `onair user add|passwd|role|list|token`: accounts from the command line, against the
//! database directly (as `onair schedule` is), so the first admin can be made before anyone can
//! log in. Whoever runs it holds the database, so it asks no one's permission.
//!
//! Passwords are read from a terminal without echo (the terminal's echo turned off with `stty`,
//! asked twice), or as one line from standard input with `--password-stdin`, never from the
//! command line, where `ps` and the shell's history would show them.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use clap::Subcommand;
use onair_control::Refusal;
use onair_control::accounts::{Role, RoleView, UserView, check_username, passwords};

use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Asks for the password twice without echo, or reads one line from standard
    /// input with --password-stdin.
    Add {
        /// 1 to 64 of a-z, 0-9, '.', '_' and '-' (lowercased).
        name: String,
        /// admin, scheduler, ad_ops or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
        /// The channel the role is on (by slug); default: every channel.
        #[arg(long, requires = "role")]
        channel: Option<String>,
        /// Read the password as one line from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password: every session of the user ends.
    Passwd {
        name: String,
        /// Read the password as one line from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Grant a user a role, on one channel with --channel or else on every channel; --revoke
    /// takes it back.
    Role {
        name: String,
        /// admin, scheduler, ad_ops or viewer.
        #[arg(value_parser = parse_role)]
        role: Role,
        /// The channel (by slug); default: every channel.
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        revoke: bool,
    },
    /// Every user with its roles.
    List,
    /// Make an API token for a user, with the user's roles: printed once, on standard output.
    Token {
        name: String,
        /// What uses it, to revoke it by, e.g. "ci".
        token_name: String,
    },
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    // The wall clock, even under playout.virtual_clock: see onair_control::accounts.
    let accounts = crate::startup::accounts(store);
    let refused = |refusal: Refusal| anyhow::anyhow!("{}", in_words(&refusal));
    match command {
        UserCommand::Add {
            name,
            role,
            channel,
            password_stdin,
        } => {
            // Refused before the password is asked for, not after.
            let username = check_username(&name).map_err(refused)?;
            if accounts.user(&username).await.is_ok() {
                bail!("there is already a user {username:?}");
            }
            let password = read_password(password_stdin)?;
            let roles: Vec<(Role, Option<&str>)> = role
                .map(|role| (role, channel.as_deref()))
                .into_iter()
                .collect();
            let user = accounts
                .add_user(&name, &password, &roles)
                .await
                .map_err(refused)?;
            println!(
                "user {} added: {}",
                user.username,
                roles_in_words(&user.roles)
            );
            if user.roles.is_empty() {
                println!(
                    "give it a role: onair user role {} viewer [--channel SLUG]",
                    user.username
                );
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = accounts.user(&name).await.map_err(refused)?;
            let password = read_password(password_stdin)?;
            accounts
                .set_password(&user.username, &password)
                .await
                .map_err(refused)?;
            println!(
                "password of {} set; every session of {} ended",
                user.username, user.username
            );
        }
        UserCommand::Role {
            name,
            role,
            channel,
            revoke,
        } => {
            let user = if revoke {
                accounts.revoke_role(&name, role, channel.as_deref()).await
            } else {
                accounts.grant_role(&name, role, channel.as_deref()).await
            }
            .map_err(refused)?;
            println!("{}: {}", user.username, roles_in_words(&user.roles));
        }
        UserCommand::List => {
            let users = accounts.users().await.map_err(refused)?;
            if users.is_empty() {
                println!("no users yet: onair user add NAME --role admin (asks for the password)");
            }
            for user in users {
                println!("{}", user_line(&user));
            }
        }
        UserCommand::Token { name, token_name } => {
            let made = accounts
                .create_api_token(&name, &token_name)
                .await
                .map_err(refused)?;
            eprintln!(
                "API token {:?} of {} (shown this once: keep it where secrets are kept):",
                made.view.name,
                name.trim().to_lowercase()
            );
            println!("{}", made.token);
        }
    }
    Ok(())
}

/// A refusal in the words of its problems alone: "password: a password needs…".
fn in_words(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Invalid(problems) => problems
            .iter()
            .map(|problem| match &problem.field {
                Some(field) => format!("{field}: {}", problem.message),
                None => problem.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse().map_err(|refusal: Refusal| match refusal {
        Refusal::Invalid(problems) => problems
            .into_iter()
            .map(|problem| problem.message)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

fn roles_in_words(roles: &[RoleView]) -> String {
    if roles.is_empty() {
        return "no roles".to_owned();
    }
    roles
        .iter()
        .map(|grant| match &grant.channel {
            Some(slug) => format!("{} on {slug}", grant.role),
            None => format!("{} on every channel", grant.role),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ann  admin on every channel  two-factor on  since 2030-01-01T00:00:00.000Z`.
fn user_line(user: &UserView) -> String {
    let mut line = format!(
        "{:<16} {}  two-factor {}  since {}",
        user.username,
        roles_in_words(&user.roles),
        user.two_factor,
        user.created_at
    );
    if user.disabled {
        line.push_str("  DISABLED");
    }
    line
}

/// The new password: one line of standard input, or asked twice on the terminal without echo.
/// Checked against the rules as soon as it is typed, before it is asked again.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = without_line_end(&line);
        if password.is_empty() {
            bail!("no password on standard input: pipe it as one line");
        }
        passwords::check_rules(password)
            .map_err(|refusal| anyhow::anyhow!("{}", in_words(&refusal)))?;
        return Ok(password.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "standard input is not a terminal to ask for the password on: pipe it with \
             --password-stdin"
        );
    }
    let first = ask_without_echo("password: ")?;
    passwords::check_rules(&first).map_err(|refusal| anyhow::anyhow!("{}", in_words(&refusal)))?;
    let second = ask_without_echo("the same again: ")?;
    if first != second {
        bail!("the two passwords differ: nothing was changed");
    }
    Ok(first)
}

/// Asks on the terminal with its echo off (`stty -echo`, on again afterwards).
fn ask_without_echo(prompt: &str) -> anyhow::Result<String> {
    let stty = |setting: &str| {
        Command::new("stty")
            .arg(setting)
            .stdin(Stdio::inherit())
            .status()
            .is_ok_and(|status| status.success())
    };
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    if !stty("-echo") {
        eprintln!();
        bail!(
            "cannot turn the terminal's echo off (is stty installed?): pipe the password with --password-stdin"
        );
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    stty("echo");
    eprintln!();
    read.context("cannot read the password from the terminal")?;
    Ok(without_line_end(&line).to_owned())
}

fn without_line_end(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}
