//! A publish's own LL-HLS output, fed from its ladder: each CMAF part and segment the ladder
//! reports goes into the source's [`LlSource`] (`playout::llhls`), which the LL-HLS routes
//! (`web-ui::llhls`) serve and hold requests on; the publish's end ends its playlists.

use std::collections::HashMap;
use std::sync::Arc;

use onair_media::{LiveOutput, LivePart};
use onair_playout::llhls::{LlPart, LlRefusal, LlSource, init_uri};

/// Feeds one publish's outputs to its LL-HLS output.
pub(super) struct LlFeed {
    pub source: Arc<LlSource>,
    pub publish: i64,
    /// The `n` of the `init-{n}.mp4` each rendition's parts play with.
    inits: HashMap<String, u32>,
}

impl LlFeed {
    pub fn new(source: Arc<LlSource>, publish: i64) -> LlFeed {
        LlFeed {
            source,
            publish,
            inits: HashMap::new(),
        }
    }

    /// Feeds `output` and hands it back, for the publish's other uses.
    pub fn pass(&mut self, output: Option<LiveOutput>) -> Option<LiveOutput> {
        match &output {
            Some(LiveOutput::Part {
                rendition,
                segment_start,
                part,
            }) => {
                let init = self.init_of(rendition, part);
                let pushed = self.source.push_part(
                    self.publish,
                    rendition,
                    *segment_start,
                    init,
                    LlPart {
                        index: part.index,
                        duration: part.duration,
                        independent: part.independent,
                    },
                );
                self.log(rendition, pushed);
            }
            Some(LiveOutput::Segment {
                rendition,
                start,
                media_start,
                duration,
                init,
                ..
            }) => {
                let init = init
                    .file_name()
                    .and_then(|name| name.to_str()?.strip_prefix("init-")?.strip_suffix(".mp4"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                self.inits.insert(rendition.clone(), init);
                let completed = self.source.complete_segment(
                    self.publish,
                    rendition,
                    *start,
                    *media_start,
                    *duration,
                    init,
                );
                self.log(rendition, completed);
            }
            Some(LiveOutput::Failed { .. } | LiveOutput::Ended) | None => self.end(),
        }
        output
    }

    /// The publish is over: its playlists end.
    pub fn end(&self) {
        self.source.end(self.publish);
    }

    /// The init segment `part` plays with: the ladder writes a new `init-{n + 1}.mp4` before the
    /// first part that needs it, which is always a segment's first.
    fn init_of(&mut self, rendition: &str, part: &LivePart) -> u32 {
        let current = self.inits.entry(rendition.to_owned()).or_insert(0);
        if part.index == 0
            && let Some(dir) = part.path.parent()
        {
            while dir.join(init_uri(*current + 1)).exists() {
                *current += 1;
            }
        }
        *current
    }

    fn log(&self, rendition: &str, result: Result<(), LlRefusal>) {
        match result {
            Ok(()) | Err(LlRefusal::Ended) => {}
            Err(refusal) => {
                tracing::warn!(publish = self.publish, rendition, %refusal, "an LL-HLS update was not applied");
            }
        }
    }
}
