//! The web pages' view of playout's channel directory. Keeping the directory and the plans in
//! step with the database is the control plane's registry (`onair_control::registry`).

use std::sync::Arc;

use onair_playout::origin::Directory;

pub use onair_control::grid::slate_source;

/// The web pages' view of the directory.
pub struct DirectoryChannelList(pub Arc<Directory>);

impl onair_web_ui::ChannelList for DirectoryChannelList {
    fn channels(&self) -> Vec<onair_web_ui::ChannelSummary> {
        self.0
            .all()
            .into_iter()
            .map(|playout| onair_web_ui::ChannelSummary {
                slug: playout.channel().slug.to_string(),
                name: playout.channel().name.clone(),
                on_air: playout.channel().on_air,
            })
            .collect()
    }
}
