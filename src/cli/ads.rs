//! `onair ads`: a channel's ad settings (show, set from a JSON file, versions, restore), its ad
//! report, and the tag inspector ad ops debug a tag with (`onair ads resolve TAG_URL`), through
//! the control plane, as the API does.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use onair_control::ads::AdConfig;
use onair_control::ads::inspect::InspectRequest;
use onair_control::as_run::interval;

use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum AdsCommand {
    /// What an ad tag resolves to, as JSON: every hop (URL, status, time), the ads in pod
    /// order, the file chosen and why, creative keys and readiness, the errors that would fire.
    /// Nothing is fired.
    Resolve {
        /// The ad tag URL (VAST).
        tag: String,
        /// The break's length in seconds, for [BREAKMAXDURATION].
        #[arg(long, default_value_t = 60)]
        duration: u32,
        /// Say whether each creative is ready on this channel's ladder.
        #[arg(long)]
        channel: Option<String>,
        /// Let the tag, its wrappers and media resolve to private addresses (a lab ad server).
        #[arg(long)]
        allow_private: bool,
        /// The whole resolution's budget.
        #[arg(long, default_value_t = 3000)]
        timeout_ms: u32,
    },
    /// Print a channel's current ad settings as JSON.
    Show { channel: String },
    /// Set a channel's ad settings from a JSON file (the `config` of `show`), as its next
    /// version.
    Set {
        channel: String,
        file: PathBuf,
        /// The version the edit was made on (default: the current one).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Every version of a channel's ad settings, newest first.
    Versions { channel: String },
    /// Store an earlier version again as the newest.
    Restore { channel: String, version: i64 },
    /// A channel's ads per break and in all: decisions, fill rate, ads aired, slate seconds,
    /// VAST errors by code, beacons.
    Report {
        channel: String,
        /// RFC 3339 (default: a day before --to).
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 (default: now).
        #[arg(long)]
        to: Option<String>,
        /// json or csv.
        #[arg(long, default_value = "json")]
        format: String,
    },
}

pub async fn run(config: &Config, command: AdsCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let refused = |refusal: onair_control::Refusal| anyhow::anyhow!("{refusal}");
    match command {
        AdsCommand::Resolve {
            tag,
            duration,
            channel,
            allow_private,
            timeout_ms,
        } => {
            let inspection = control
                .inspect_tag(&InspectRequest {
                    tag,
                    duration_secs: duration,
                    channel,
                    allow_private,
                    device_ip: None,
                    device_ua: None,
                    timeout_ms,
                })
                .await
                .map_err(refused)?;
            print_json(&inspection)
        }
        AdsCommand::Show { channel } => match control.ad_config(&channel).await.map_err(refused)? {
            Some(version) => print_json(&version),
            None => {
                anyhow::bail!("{channel} has no ad settings yet: `onair ads set {channel} FILE`")
            }
        },
        AdsCommand::Set {
            channel,
            file,
            version,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let config: AdConfig = serde_json::from_str(&text)
                .with_context(|| format!("{} is not ad settings", file.display()))?;
            let version = match version {
                Some(version) => Some(version),
                None => control
                    .ad_config(&channel)
                    .await
                    .map_err(refused)?
                    .map(|current| current.version),
            };
            let stored = control
                .put_ad_config(&channel, version, &config, "cli")
                .await
                .map_err(refused)?;
            println!("{channel}: ad settings version {}", stored.version);
            Ok(())
        }
        AdsCommand::Versions { channel } => print_json(
            &control
                .ad_config_versions(&channel)
                .await
                .map_err(refused)?,
        ),
        AdsCommand::Restore { channel, version } => {
            let current = control
                .ad_config(&channel)
                .await
                .map_err(refused)?
                .map(|current| current.version);
            let stored = control
                .restore_ad_config(&channel, current, version, "cli")
                .await
                .map_err(refused)?;
            println!(
                "{channel}: version {version} restored as version {}",
                stored.version
            );
            Ok(())
        }
        AdsCommand::Report {
            channel,
            from,
            to,
            format,
        } => {
            let (from, to) = interval(from.as_deref(), to.as_deref(), control.clock.now())
                .map_err(|message| anyhow::anyhow!(message))?;
            let report = control
                .ad_report(&channel, from, to)
                .await
                .map_err(refused)?;
            match format.as_str() {
                "json" => print_json(&report),
                "csv" => {
                    print!("{}", report.to_csv());
                    Ok(())
                }
                other => anyhow::bail!("--format {other:?} is neither json nor csv"),
            }
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
