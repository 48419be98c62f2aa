//! `onair partner check NAME` and `onair channel check SLUG`: conformance checks through the
//! control plane, in process (the playlists rendered over the hours asked, a few segments probed
//! and their loudness measured here). One line per finding, or the report as JSON; the exit
//! status is 1 when a finding of severity error exists.

use std::sync::Arc;

use onair_control::conformance::{
    ChannelCheck, CheckOptions, DEFAULT_HOURS, MediaInspector, parse_profile,
};
use onair_control::{Control, Refusal};

use crate::config::Config;
use crate::conformance::MediaFolderInspector;

/// What both checks take.
#[derive(Debug, clap::Args)]
pub struct CheckFlags {
    /// hls (the baseline), pluto, wurl or roku; a partner's own by default (its EPG format says
    /// wurl or roku, its name pluto; else hls).
    #[arg(long)]
    profile: Option<String>,
    /// Hours of playlists observed from now (1 to 48).
    #[arg(long, default_value_t = DEFAULT_HOURS)]
    hours: u32,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
    /// Do not probe segments nor measure loudness (playlists and EPG only).
    #[arg(long)]
    no_media: bool,
}

#[derive(Debug, clap::Args)]
pub struct PartnerCheckArgs {
    /// The partner's name.
    name: String,
    #[command(flatten)]
    flags: CheckFlags,
}

#[derive(Debug, clap::Args)]
pub struct ChannelCheckArgs {
    /// The channel's slug.
    slug: String,
    #[command(flatten)]
    flags: CheckFlags,
}

/// Who the control plane's limits count a check for: a command's control plane is its own
/// process's, so it runs one check and is never refused for the server's limits.
const CALLER: &str = "onair-cli";

fn refused(refusal: Refusal) -> anyhow::Error {
    anyhow::anyhow!("{refusal}")
}

impl CheckFlags {
    fn options(&self) -> anyhow::Result<CheckOptions> {
        let profile = self
            .profile
            .as_deref()
            .map(parse_profile)
            .transpose()
            .map_err(refused)?;
        Ok(CheckOptions {
            profile,
            hours: self.hours,
        })
    }

    fn inspector(&self, config: &Config) -> Option<Arc<dyn MediaInspector>> {
        (!self.no_media).then(|| {
            Arc::new(MediaFolderInspector {
                media_root: config.storage.media_dir(),
            }) as Arc<dyn MediaInspector>
        })
    }
}

fn print_channel(check: &ChannelCheck) {
    print!("{}", check.report.human());
    for note in &check.notes {
        println!("note: {note}");
    }
}

fn verdict(errors: usize) -> anyhow::Result<()> {
    if errors == 0 {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "the check found {errors} error(s): see the findings above"
        ))
    }
}

/// `onair partner check NAME`.
pub async fn partner(
    config: &Config,
    control: &Control,
    args: PartnerCheckArgs,
) -> anyhow::Result<()> {
    let flags = &args.flags;
    let check = control
        .check_partner(
            &args.name,
            flags.options()?,
            flags.inspector(config),
            CALLER,
        )
        .await
        .map_err(refused)?;
    if flags.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        println!(
            "partner {}: {} against {}",
            check.partner,
            if check.passed { "passed" } else { "FAILED" },
            check.profile.title()
        );
        for channel in &check.channels {
            print_channel(channel);
        }
        for slug in &check.not_on_air {
            println!("✗ channel {slug} is carried but not on air: not checked");
        }
    }
    let errors: usize = check
        .channels
        .iter()
        .map(|channel| channel.report.errors())
        .sum::<usize>()
        + check.not_on_air.len();
    verdict(errors)
}

/// `onair channel check SLUG`.
pub async fn channel(
    config: &Config,
    control: &Control,
    args: ChannelCheckArgs,
) -> anyhow::Result<()> {
    let flags = &args.flags;
    let check = control
        .check_channel(
            &args.slug,
            flags.options()?,
            flags.inspector(config),
            CALLER,
        )
        .await
        .map_err(refused)?;
    if flags.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        print_channel(&check);
    }
    verdict(check.report.errors())
}
