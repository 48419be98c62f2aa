//! `onair partner`: partners (add, list, show, edit, rm, rotate-key, url), through the control
//! plane, as the API does.

use clap::Subcommand;
use onair_control::partners::{EpgFormat, PartnerInput, signing};

use crate::config::Config;
use crate::startup;

/// A partner's settings as flags (`add` and `edit`; `edit` replaces every one, as the API's PUT).
#[derive(Debug, clap::Args)]
pub struct PartnerFlags {
    /// What people call it (the name by default).
    #[arg(long)]
    display_name: Option<String>,
    /// A channel it carries, by slug (repeat for more).
    #[arg(long = "channel", required = true)]
    channels: Vec<String>,
    /// An output it may pull: hls-ts (default), hls-fmp4, dash (repeat for more).
    #[arg(long = "output")]
    outputs: Vec<String>,
    /// Its EPG format: xmltv (default), wurl-json, roku-json.
    #[arg(long)]
    epg: Option<String>,
    /// clean (default: SCTE-35 markers for its own SSAI) or stitched (onair's SSAI).
    #[arg(long)]
    ad_mode: Option<String>,
    /// Clean only: daterange, cue-out (CUE-OUT/CONT/IN with OATCLS) or both (default).
    #[arg(long)]
    cue_dialect: Option<String>,
    /// Stitched only: its ad tag, an http(s) URL template with IAB macros.
    #[arg(long)]
    ad_tag: Option<String>,
    /// Its URLs need a token: /p/{name}/t/{token}/{channel}/… (see `onair partner url`).
    #[arg(long)]
    signed: bool,
    /// Hours a key stays valid after the rotation that replaces it (default 24).
    #[arg(long)]
    key_overlap_hours: Option<u32>,
}

impl PartnerFlags {
    fn input(self, name: Option<String>) -> PartnerInput {
        PartnerInput {
            name,
            display_name: self.display_name,
            channels: self.channels,
            outputs: (!self.outputs.is_empty()).then_some(self.outputs),
            epg: self.epg,
            ad_mode: self.ad_mode,
            cue_dialect: self.cue_dialect,
            ad_tag: self.ad_tag,
            signed: Some(self.signed),
            key_overlap_hours: self.key_overlap_hours,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Every partner with its settings and key ids, as JSON.
    List,
    /// Add a partner: prints it as JSON with its first signing key (`key`, shown once).
    Add {
        /// Lowercase letters, digits and '-': the {partner} of its URLs.
        name: String,
        #[command(flatten)]
        flags: PartnerFlags,
        /// Who adds it, kept with its version.
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// One partner, as JSON.
    Show { name: String },
    /// Replace a partner's settings (every flag, as on add).
    Edit {
        name: String,
        #[command(flatten)]
        flags: PartnerFlags,
        /// The version the edit is made on (refused when it moved on).
        #[arg(long)]
        version: Option<i64>,
        #[arg(long, default_value = "cli")]
        author: String,
    },
    /// Delete a partner: its URLs answer 404 from then on.
    Rm { name: String },
    /// A new signing key (printed once, with the partner as JSON); the one before stays valid
    /// for the partner's overlap.
    RotateKey { name: String },
    /// A signed prefix of the partner's URLs for a channel, valid for some hours: prints the
    /// channel's multivariant playlist, its EPG in the partner's format, and the partner's EPG of
    /// every channel it carries (signed for its own prefix), each under it.
    Url {
        name: String,
        /// The channel's slug.
        channel: String,
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
    /// Check the partner's view of every channel it carries against a conformance profile: one
    /// line per finding (or --json); exits 1 when a finding is an error.
    Check(super::check::PartnerCheckArgs),
}

pub async fn run(config: &Config, command: PartnerCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let control = startup::control(config, store);
    let refused = |refusal: onair_control::Refusal| anyhow::anyhow!("{refusal}");
    match command {
        PartnerCommand::Check(args) => super::check::partner(config, &control, args).await,
        PartnerCommand::List => print_json(&control.partners().await.map_err(refused)?),
        PartnerCommand::Add {
            name,
            flags,
            author,
        } => print_json(
            &control
                .create_partner(&flags.input(Some(name)), &author)
                .await
                .map_err(refused)?,
        ),
        PartnerCommand::Show { name } => {
            print_json(&control.partner(&name).await.map_err(refused)?)
        }
        PartnerCommand::Edit {
            name,
            flags,
            version,
            author,
        } => print_json(
            &control
                .update_partner(&name, &flags.input(None), version, &author)
                .await
                .map_err(refused)?,
        ),
        PartnerCommand::Rm { name } => {
            control.delete_partner(&name).await.map_err(refused)?;
            println!("partner {name} deleted");
            Ok(())
        }
        PartnerCommand::RotateKey { name } => {
            print_json(&control.rotate_partner_key(&name).await.map_err(refused)?)
        }
        PartnerCommand::Url {
            name,
            channel,
            hours,
        } => {
            let signed = control
                .signed_partner_prefix(&name, &channel, hours)
                .await
                .map_err(refused)?;
            let epg = match control.partner(&name).await.map_err(refused)?.epg {
                EpgFormat::Xmltv => "epg.xml",
                EpgFormat::WurlJson | EpgFormat::RokuJson => "epg.json",
            };
            let every_channel = partner_wide_prefix(&control, &name, &signed.prefix)
                .await
                .map_err(refused)?;
            let origin = format!("http://{}", config.http.addr);
            println!(
                "{origin}{prefix}master.m3u8\n{origin}{prefix}{epg}\n{origin}{every_channel}{epg}\n(valid until {})",
                signed.expires_at,
                prefix = signed.prefix,
            );
            Ok(())
        }
    }
}

/// `/p/{name}/t/{token}/`: the partner's own prefix (its EPG of every channel), signed with its
/// newest key until the expiry of `channel_prefix` (`/p/{name}/t/{expiry}.{signature}/{slug}/`).
async fn partner_wide_prefix(
    control: &onair_control::Control,
    name: &str,
    channel_prefix: &str,
) -> Result<String, onair_control::Refusal> {
    let internal = |what: &str| onair_control::Refusal::Internal(format!("partner {name}: {what}"));
    let expiry = channel_prefix
        .split('/')
        .nth(4)
        .and_then(|token| token.split_once('.'))
        .and_then(|(expiry, _)| expiry.parse::<i64>().ok())
        .ok_or_else(|| internal("the signed prefix has no expiry"))?;
    let access = control
        .partner_access(name)
        .await?
        .ok_or_else(|| internal("gone"))?;
    let key = access
        .keys
        .iter()
        .find(|key| key.expires_at.is_none())
        .ok_or_else(|| internal("no current key"))?;
    Ok(format!(
        "/p/{name}/t/{}/",
        signing::token(&key.secret, name, "", expiry)
    ))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
