//! `onair schedule …` and `onair as-run export`: a channel's schedule and as-run log from the
//! command line, straight against the database, through the control plane the HTTP API calls
//! too (`onair_control::transfer`, `onair_control::as_run`): the same files, checks, lock
//! horizon and versions. Edits are published by `cli` and made on the current schedule version
//! (or the one an imported JSON export names, or `--version`): one that changes in between is
//! refused, not overwritten.
//!
//! Days (`--from 2026-10-23`) are local days in the channel's time zone, as the schedule API's
//! copy counts them; as-run instants are RFC 3339, or a day meaning its local midnight.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use onair_control::transfer::{CopyRequest, Format, ImportFile, Unversioned, local_days};
use onair_domain::{Channel, ChannelSlug, Timestamp};
use onair_store::Store;

use crate::config::Config;
use crate::startup;

/// Who publishes what the CLI changes, in the version history.
const AUTHOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print (or write) the items starting on some local days, as JSON or CSV.
    Export {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
        /// The first local day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// How many days from it.
        #[arg(long, default_value_t = 1)]
        days: u64,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Replace a window of the schedule with a file's items (an export, edited or not).
    ///
    /// A JSON export names its window; a CSV file needs --from (and --days) for the days it
    /// replaces. The file is refused whole if anything in it is wrong.
    Import {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
        /// A JSON or CSV file (told apart by --format, else by its extension).
        file: PathBuf,
        /// json or csv; default: from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// The first local day the file replaces, YYYY-MM-DD (overrides a JSON file's window).
        #[arg(long)]
        from: Option<String>,
        /// How many days from --from.
        #[arg(long, default_value_t = 1)]
        days: u64,
        /// The schedule version the file was made on; default: the file's, else the current.
        #[arg(long)]
        version: Option<i64>,
    },
    /// Copy the items of some local days onto other days, at the same wall-clock times.
    Copy {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
        /// The first local day copied, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Where a copy starts, YYYY-MM-DD; repeat for several copies.
        #[arg(long, required = true)]
        to: Vec<String>,
        /// How many days are copied.
        #[arg(long, default_value_t = 1)]
        days: u64,
    },
    /// List the published versions of the schedule, newest first.
    Versions {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
    },
    /// Make a published version's schedule current again (as a new version).
    Restore {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
        version: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AsRunCommand {
    /// Print (or write) what a channel aired in [--from, --to), as CSV or JSON.
    Export {
        /// The channel's slug.
        #[arg(long)]
        channel: String,
        /// RFC 3339, or a local day (YYYY-MM-DD) for its midnight.
        #[arg(long)]
        from: String,
        /// RFC 3339, or a local day (YYYY-MM-DD) for its midnight (excluded).
        #[arg(long)]
        to: String,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub async fn schedule(config: &Config, command: ScheduleCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = crate::startup::control(config, store.clone());
    match command {
        ScheduleCommand::Export {
            channel,
            from,
            days,
            format,
            output,
        } => {
            let format = parse_format(&format)?;
            let found = find_channel(&store, &channel).await?;
            let (from, to) = local_days(found.time_zone, parse_day("--from", &from)?, days);
            let exported = control
                .export_schedule(&channel, from, to, format)
                .await
                .with_context(|| format!("cannot export the schedule of {channel}"))?;
            write_out(output.as_deref(), exported.body)
        }
        ScheduleCommand::Import {
            channel,
            file,
            format,
            from,
            days,
            version,
        } => {
            let format = match format {
                Some(text) => parse_format(&text)?,
                None => format_of_file(&file),
            };
            let body =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let window = match from {
                Some(day) => {
                    let found = find_channel(&store, &channel).await?;
                    let (from, to) = local_days(found.time_zone, parse_day("--from", &day)?, days);
                    Some((from.to_rfc3339_millis(), to.to_rfc3339_millis()))
                }
                None if format == Format::Csv => bail!(
                    "a CSV file does not say which days it replaces: name them with --from YYYY-MM-DD (and --days N)"
                ),
                None => None,
            };
            let import = ImportFile {
                format,
                body: &body,
                from: window.as_ref().map(|(from, _)| from.as_str()),
                to: window.as_ref().map(|(_, to)| to.as_str()),
            };
            let published = control
                .import_schedule(&channel, &import, version, Unversioned::Current, AUTHOR)
                .await
                .with_context(|| format!("cannot import {} into {channel}", file.display()))?;
            println!(
                "imported {} into {channel}: schedule version {published}",
                file.display()
            );
            Ok(())
        }
        ScheduleCommand::Copy {
            channel,
            from,
            to,
            days,
        } => {
            parse_day("--from", &from)?;
            for day in &to {
                parse_day("--to", day)?;
            }
            let request = CopyRequest {
                version: None,
                from_date: from.clone(),
                days,
                to_dates: to.clone(),
            };
            let published = control
                .copy_schedule(&channel, &request, Unversioned::Current, AUTHOR)
                .await
                .with_context(|| format!("cannot copy the schedule of {channel}"))?;
            println!(
                "copied {days} day(s) from {from} to {} on {channel}: schedule version {published}",
                to.join(", ")
            );
            Ok(())
        }
        ScheduleCommand::Versions { channel } => {
            let found = find_channel(&store, &channel).await?;
            let current = store.schedule_version(found.id).await?;
            let versions = store.published_versions(found.id).await?;
            println!("{channel} is at schedule version {current}");
            if versions.is_empty() {
                println!("no version was published through the API or the CLI yet");
            }
            for version in versions {
                println!(
                    "{:>6}  {}  {:>5} item(s)  {}",
                    version.version,
                    version.published_at.to_rfc3339_millis(),
                    version.items.len(),
                    version.author
                );
            }
            Ok(())
        }
        ScheduleCommand::Restore { channel, version } => {
            let restored = control
                .restore_schedule(&channel, version, None, AUTHOR)
                .await
                .with_context(|| format!("cannot restore version {version} of {channel}"))?;
            if restored.unchanged {
                println!(
                    "{channel} already has the schedule of version {version}: nothing changed (schedule version {})",
                    restored.version
                );
            } else {
                println!(
                    "restored version {version} of {channel}: schedule version {}",
                    restored.version
                );
            }
            Ok(())
        }
    }
}

pub async fn as_run(config: &Config, command: AsRunCommand) -> anyhow::Result<()> {
    let AsRunCommand::Export {
        channel,
        from,
        to,
        format,
        output,
    } = command;
    let format = parse_format(&format)?;
    let store = startup::open_store(config).await?;
    let found = find_channel(&store, &channel).await?;
    let from = parse_when("--from", &from, &found)?;
    let to = parse_when("--to", &to, &found)?;
    let control = crate::startup::control(config, store);
    let body = control
        .export_as_run(&channel, from, to, format)
        .await
        .with_context(|| format!("cannot export the as-run log of {channel}"))?;
    write_out(output.as_deref(), body)
}

async fn find_channel(store: &Store, slug: &str) -> anyhow::Result<Channel> {
    let parsed = ChannelSlug::parse(slug).ok();
    let found = match parsed {
        Some(parsed) => store.channel_by_slug(&parsed).await?,
        None => None,
    };
    found.with_context(|| format!("channel {slug:?} not found"))
}

fn parse_format(text: &str) -> anyhow::Result<Format> {
    Format::parse(text).with_context(|| format!("--format {text:?} is neither json nor csv"))
}

/// CSV for a `.csv` file, JSON otherwise.
fn format_of_file(file: &Path) -> Format {
    match file.extension().and_then(|extension| extension.to_str()) {
        Some(extension) if extension.eq_ignore_ascii_case("csv") => Format::Csv,
        _ => Format::Json,
    }
}

fn parse_day(flag: &str, text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("{flag} {text:?} is not a day like 2026-10-23"))
}

/// An RFC 3339 instant, or a local day of the channel for its midnight.
fn parse_when(flag: &str, text: &str, channel: &Channel) -> anyhow::Result<Timestamp> {
    if let Ok(day) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(local_days(channel.time_zone, day, 0).0);
    }
    onair_control::schedule::parse_instant(text).map_err(|error| {
        anyhow::anyhow!("{flag}: {error}; give an RFC 3339 instant or a day like 2026-10-23")
    })
}

fn write_out(output: Option<&Path>, mut body: Vec<u8>) -> anyhow::Result<()> {
    if !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    match output {
        Some(path) => {
            std::fs::write(path, &body).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&body)
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")
        }
    }
}
