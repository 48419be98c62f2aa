//! The planner itself: lays items out run by run from the timeline's origin, landing hard
//! starts on segment boundaries, splitting breaks at the nearest boundary, and filling gaps
//! with filler, then slate.

use super::*;

pub(super) struct Filler {
    pub(super) asset_id: AssetId,
    pub(super) title: String,
    pub(super) track: Arc<SegmentTrack>,
}

pub(super) struct Planner<'a> {
    pub(super) assets: &'a HashMap<AssetId, Asset>,
    /// Ready assets with segments.
    pub(super) tracks: &'a HashMap<AssetId, Arc<SegmentTrack>>,
    pub(super) runs: Vec<Run>,
    /// For each run, the input item it belongs to.
    pub(super) run_items: Vec<Option<usize>>,
    pub(super) run_starts: Vec<Timestamp>,
    pub(super) cursor: Timestamp,
    pub(super) slate: Option<(AssetId, Arc<SegmentTrack>)>,
    pub(super) fillers: Vec<Filler>,
    /// Rotates through the fillers across gaps.
    pub(super) next_filler: usize,
    pub(super) options: &'a PlanOptions,
    pub(super) issues: Vec<PlanIssue>,
    /// Breaks planned so far: numbers the next one.
    pub(super) n_breaks: u32,
    /// The last hard item planned and where its own runs ended.
    pub(super) last_hard: Option<(String, Timestamp)>,
}

impl Planner<'_> {
    pub(super) fn push(&mut self, run: Run, item: Option<usize>) {
        self.run_starts.push(self.cursor);
        self.run_items.push(item);
        self.cursor = self.cursor + run.duration();
        self.runs.push(run);
    }

    pub(super) fn plan_item(&mut self, index: usize, item: &GridItem) {
        let title = item.info.title.clone();
        let at = item.start.hard().unwrap_or(self.cursor);
        let Some(content) = self.content_runs(item, at) else {
            return;
        };
        let breaks = self.airing_breaks(item, at);
        let content_duration: Ticks = content.iter().map(Run::duration).sum();
        let total = content_duration + breaks.iter().map(|b| b.duration).sum();
        if let Some(window) = self.options.rights.get(&item.asset_id)
            && !window.allows(at, at + total)
        {
            self.issues.push(PlanIssue::OutsideRightsWindow {
                title,
                asset_id: item.asset_id,
                start: at,
                end: at + total,
                window: *window,
            });
            return;
        }
        if let Start::Hard(at) = item.start {
            self.land_hard_start(&title, at);
        }
        self.push_content_with_breaks(index, &title, content, &breaks);
        if item.start.hard().is_some() {
            self.last_hard = Some((title, self.cursor));
        }
    }

    /// The runs an item's content airs as, or `None` (reported) when it cannot air.
    pub(super) fn content_runs(&mut self, item: &GridItem, at: Timestamp) -> Option<Vec<Run>> {
        let title = &item.info.title;
        let track = self.tracks.get(&item.asset_id).cloned();
        if let Some(live) = &item.live {
            // The fallback loops to fill the slot; without it, slate holds the slot. Each loop
            // plays only its segments as long as its first, so every planned segment is a slot
            // of the live source's grid (a short last segment would shift the grid).
            if let Some(track) = track {
                let regular = regular_prefix(&track);
                let track = if regular < track.len() {
                    Arc::new(SegmentTrack::new(
                        track.durations().take(regular as usize).collect(),
                    ))
                } else {
                    track
                };
                return Some(looped_runs(
                    item.asset_id,
                    title,
                    track,
                    RunKind::Programme,
                    live.duration,
                ));
            }
            self.report_unplayable(item, at);
            let runs = self.slate_runs(live.duration, RunKind::Slate);
            return (!runs.is_empty()).then_some(runs);
        }
        let Some(track) = track else {
            self.report_unplayable(item, at);
            return None;
        };
        let len = track.len();
        let first = self.snap(title, at, &track, item.in_point, 0);
        let end = self.snap(title, at, &track, item.out_point, len);
        if end <= first {
            self.issues.push(PlanIssue::EmptyInOut {
                title: title.clone(),
                in_point: item.in_point.unwrap_or(Ticks::ZERO),
                out_point: item.out_point.unwrap_or(track.start(len)),
            });
            return None;
        }
        Some(vec![Run {
            first_segment: first,
            n_segments: end - first,
            ..Run::whole(RunKind::Programme, item.asset_id, title.clone(), track)
        }])
    }

    /// The segment boundary nearest an in or out point (`default` when there is none).
    pub(super) fn snap(
        &mut self,
        title: &str,
        at: Timestamp,
        track: &SegmentTrack,
        point: Option<Ticks>,
        default: u32,
    ) -> u32 {
        let Some(point) = point else {
            return default;
        };
        let boundary = nearest_boundary(track, 0, track.len(), point);
        let drift = Ticks((track.start(boundary) - point).0.abs());
        if drift > Ticks::ZERO {
            self.issues.push(PlanIssue::InOutPointMoved {
                title: title.to_owned(),
                at,
                point,
                drift,
            });
        }
        boundary
    }

    pub(super) fn report_unplayable(&mut self, item: &GridItem, at: Timestamp) {
        let title = item.info.title.clone();
        let asset_id = item.asset_id;
        self.issues.push(if self.assets.contains_key(&asset_id) {
            PlanIssue::AssetNotReady {
                title,
                at,
                asset_id,
            }
        } else {
            PlanIssue::MissingAsset {
                title,
                at,
                asset_id,
            }
        });
    }

    /// The content, split at each break's segment boundary with the break between the parts.
    pub(super) fn push_content_with_breaks(
        &mut self,
        item: usize,
        title: &str,
        content: Vec<Run>,
        breaks: &[AdBreakSpec],
    ) {
        let total: Ticks = content.iter().map(Run::duration).sum();
        let mut boundaries = vec![Ticks::ZERO];
        let mut offset = Ticks::ZERO;
        for run in &content {
            for index in run.first_segment..run.first_segment + run.n_segments {
                offset += run.track.duration(index);
                boundaries.push(offset);
            }
        }
        let mut breaks: Vec<&AdBreakSpec> = breaks.iter().collect();
        breaks.sort_by_key(|ad_break| ad_break.offset);
        let mut queue: VecDeque<Run> = content.into();
        let mut emitted = Ticks::ZERO;
        for ad_break in breaks {
            let boundary = nearest_offset(&boundaries, ad_break.offset);
            let drift = Ticks((boundary - ad_break.offset).0.abs());
            if drift > Ticks::ZERO && ad_break.offset < total {
                self.issues.push(PlanIssue::BreakMovedToBoundary {
                    title: title.to_owned(),
                    offset: ad_break.offset,
                    drift,
                });
            }
            while emitted < boundary {
                let Some(mut run) = queue.pop_front() else {
                    break;
                };
                let duration = run.duration();
                if emitted + duration <= boundary {
                    emitted += duration;
                    self.push(run, Some(item));
                    continue;
                }
                let base = run.track.start(run.first_segment);
                let mut n_segments = 0;
                while run.track.start(run.first_segment + n_segments) - base < boundary - emitted {
                    n_segments += 1;
                }
                let head = Run {
                    n_segments,
                    ..run.clone()
                };
                emitted += head.duration();
                run.first_segment += n_segments;
                run.n_segments -= n_segments;
                self.push(head, Some(item));
                queue.push_front(run);
            }
            self.push_break(item, title, ad_break);
        }
        for run in queue {
            self.push(run, Some(item));
        }
    }

    /// Fills one break slot with slate, in whole segments, as break runs sharing one slot.
    pub(super) fn push_break(&mut self, item: usize, title: &str, ad_break: &AdBreakSpec) {
        let runs = self.slate_runs(ad_break.duration, RunKind::AdBreak);
        let offset = ad_break.offset;
        if runs.is_empty() {
            self.issues.push(PlanIssue::BreakUnfilled {
                title: title.to_owned(),
                at: self.cursor,
                offset,
            });
            return;
        }
        let aired: Ticks = runs.iter().map(Run::duration).sum();
        if aired != ad_break.duration {
            self.issues.push(PlanIssue::BreakDurationRounded {
                title: title.to_owned(),
                at: self.cursor,
                offset,
                planned: ad_break.duration,
                aired,
            });
        }
        let slot = BreakSlot {
            number: self.n_breaks,
            duration: aired,
        };
        self.n_breaks += 1;
        for run in runs {
            self.push(
                Run {
                    ad_break: Some(slot),
                    ..run
                },
                Some(item),
            );
        }
    }

    /// Slate lasting as near to `duration` as segments allow.
    pub(super) fn slate_runs(&self, duration: Ticks, kind: RunKind) -> Vec<Run> {
        let Some((slate_id, track)) = self.slate.clone() else {
            return Vec::new();
        };
        let title = if kind == RunKind::AdBreak {
            "ad break"
        } else {
            "slate"
        };
        looped_runs(slate_id, title, track, kind, duration)
    }

    /// Brings the cursor to a hard start: pads a gap, or cuts what runs over. Before anything
    /// airs (the items before were skipped) it just moves there.
    pub(super) fn land_hard_start(&mut self, title: &str, at: Timestamp) {
        if self.runs.is_empty() {
            self.cursor = at;
            return;
        }
        if at > self.cursor {
            self.fill_gap(at);
        } else if at < self.cursor {
            let before = self.cursor;
            self.cut_back_to(at);
            let cut = before - self.cursor;
            if cut > self.options.cut_threshold {
                self.issues.push(match &self.last_hard {
                    Some((first, hard_end)) if at < *hard_end => PlanIssue::Overlap {
                        first: first.clone(),
                        second: title.to_owned(),
                        at,
                        by: *hard_end - at,
                    },
                    _ => PlanIssue::PreviousItemCut {
                        title: title.to_owned(),
                        at,
                        cut,
                    },
                });
            }
        }
        if self.cursor != at {
            let drift = Ticks((self.cursor - at).0.abs());
            self.issues.push(PlanIssue::HardStartDrift {
                title: title.to_owned(),
                at,
                drift,
            });
        }
    }

    /// Pads up to `until`: whole fillers that fit, rotating, then slate segments ending on the
    /// boundary nearest to it.
    pub(super) fn fill_gap(&mut self, until: Timestamp) {
        let gap_start = self.cursor;
        let gap = until - gap_start;
        let mut filler_time = Ticks::ZERO;
        'fill: while !self.fillers.is_empty() {
            for _ in 0..self.fillers.len() {
                let filler = &self.fillers[self.next_filler % self.fillers.len()];
                self.next_filler += 1;
                let run = Run::whole(
                    RunKind::Filler,
                    filler.asset_id,
                    filler.title.clone(),
                    filler.track.clone(),
                );
                let end = self.cursor + run.duration();
                let allowed = self
                    .options
                    .rights
                    .get(&filler.asset_id)
                    .is_none_or(|window| window.allows(self.cursor, end));
                if end <= until && allowed {
                    filler_time += run.duration();
                    self.push(run, None);
                    continue 'fill;
                }
            }
            break;
        }
        let remaining = until - self.cursor;
        if remaining > Ticks::ZERO {
            if self.slate.is_none() {
                self.issues.push(PlanIssue::GapUnfilled {
                    at: self.cursor,
                    duration: remaining,
                });
            }
            for run in self.slate_runs(remaining, RunKind::Slate) {
                self.push(run, None);
            }
        }
        if filler_time > Ticks::ZERO {
            self.issues.push(PlanIssue::GapFilledWithFiller {
                at: gap_start,
                duration: gap,
                filler: filler_time,
            });
        } else if self.slate.is_some() {
            self.issues.push(PlanIssue::GapFilled {
                at: gap_start,
                duration: gap,
            });
        }
    }

    /// Cuts runs at the segment boundary nearest to `at` (never earlier than a whole run).
    pub(super) fn cut_back_to(&mut self, at: Timestamp) {
        while let Some(last) = self.runs.last_mut() {
            let run_start = self.cursor - last.duration();
            if run_start >= at {
                self.cursor = run_start;
                self.runs.pop();
                self.run_items.pop();
                self.run_starts.pop();
                continue;
            }
            let keep = at - run_start;
            let base = last.track.start(last.first_segment);
            let mut n_segments = 1;
            while n_segments < last.n_segments
                && last.track.start(last.first_segment + n_segments + 1) - base <= keep
            {
                n_segments += 1;
            }
            last.n_segments = n_segments;
            self.cursor = run_start + last.duration();
            break;
        }
    }
}

/// Whole passes of a track, then part of one, lasting as near to `duration` as segments allow.
fn looped_runs(
    asset_id: AssetId,
    title: &str,
    track: Arc<SegmentTrack>,
    kind: RunKind,
    duration: Ticks,
) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut filled = Ticks::ZERO;
    while filled < duration {
        let remaining = duration - filled;
        let whole = Run::whole(kind, asset_id, title, track.clone());
        if whole.duration() <= remaining {
            filled += whole.duration();
            runs.push(whole);
            continue;
        }
        let n_segments = nearest_boundary(&track, 0, track.len(), remaining);
        if n_segments > 0 {
            runs.push(Run {
                n_segments,
                ..whole
            });
        }
        break;
    }
    runs
}

/// How many of the track's first segments last as long as its first (at least one).
fn regular_prefix(track: &SegmentTrack) -> u32 {
    let Some(first) = track.durations().next() else {
        return 0;
    };
    track
        .durations()
        .take_while(|duration| *duration == first)
        .count() as u32
}

/// The boundary in `boundaries` (sorted offsets) nearest to `offset`; ties go to the later.
fn nearest_offset(boundaries: &[Ticks], offset: Ticks) -> Ticks {
    let after = boundaries.partition_point(|boundary| *boundary < offset);
    let later = boundaries.get(after).copied();
    let earlier = after.checked_sub(1).map(|index| boundaries[index]);
    match (earlier, later) {
        (Some(earlier), Some(later)) if offset - earlier < later - offset => earlier,
        (_, Some(later)) => later,
        (Some(earlier), None) => earlier,
        (None, None) => Ticks::ZERO,
    }
}

/// The segment boundary (an index in `first..=end`) nearest to `offset` from segment `first`;
/// ties go to the later boundary.
fn nearest_boundary(track: &SegmentTrack, first: u32, end: u32, offset: Ticks) -> u32 {
    let base = track.start(first);
    let mut best = first;
    for boundary in first..=end {
        let distance = (track.start(boundary) - base - offset).0.abs();
        let best_distance = (track.start(best) - base - offset).0.abs();
        if distance <= best_distance {
            best = boundary;
        }
        if track.start(boundary) - base > offset {
            break;
        }
    }
    best
}

impl Planner<'_> {
    /// The item's breaks that air: with an out point, a cue point past it went with the part of
    /// the asset that was cut, and is reported (a break after the item, [`AdBreakSpec::AFTER`],
    /// still airs).
    fn airing_breaks(&mut self, item: &GridItem, at: Timestamp) -> Vec<AdBreakSpec> {
        let Some(out_point) = item.out_point else {
            return item.breaks.clone();
        };
        let content = out_point - item.in_point.unwrap_or(Ticks::ZERO);
        let (airing, cut): (Vec<AdBreakSpec>, Vec<AdBreakSpec>) =
            item.breaks.iter().partition(|ad_break| {
                ad_break.offset <= content || ad_break.offset == AdBreakSpec::AFTER
            });
        for ad_break in cut {
            self.issues.push(PlanIssue::BreakPastOutPoint {
                title: item.info.title.clone(),
                at,
                offset: ad_break.offset,
                out_point,
            });
        }
        airing
    }
}

/// Where an out point `point` of `track` lands when planned: the segment boundary nearest to it
/// (ties go to the later), never past the track's end. What the planner cuts an item at, for
/// those who show where it ends.
pub fn aired_out_point(track: &SegmentTrack, point: Ticks) -> Ticks {
    track.start(nearest_boundary(track, 0, track.len(), point))
}
