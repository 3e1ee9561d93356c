//! The fast path of a scan: a line that the decoder can screen, and whose
//! values the [`LineFilter`] finds no possible match in, is counted as an
//! event without being decoded. Every other line takes the full decode.

use std::ops::Range;

use iocwatch_logs::Decoder;
use iocwatch_matcher::LineFilter;

/// The fast path's state within one unit.
#[derive(Debug, Default)]
pub(crate) struct Screened {
    /// Value ranges of the current line, reused from line to line.
    values: Vec<Range<usize>>,
    /// Events counted without a decode, per format.
    events: Vec<(&'static str, u64)>,
}

impl Screened {
    /// Returns true, after counting the line's event, when the decoder
    /// screens the line and none of its values can match.
    pub(crate) fn skips(&mut self, decoder: &mut dyn Decoder, filter: &LineFilter, line: &[u8]) -> bool {
        self.values.clear();
        let Some(format) = decoder.screen(line, &mut self.values) else {
            return false;
        };
        let may_match = self.values.iter().any(|range| {
            line.get(range.clone())
                .is_none_or(|value| filter.may_match(value))
        });
        if may_match {
            return false;
        }
        // Decoders name their format with one static string each, so
        // comparing addresses distinguishes formats before comparing text.
        let same = |seen: &str| std::ptr::eq(seen, format) || seen == format;
        match self.events.iter_mut().find(|(seen, _)| same(seen)) {
            Some((_, count)) => *count += 1,
            None => self.events.push((format, 1)),
        }
        true
    }

    /// Returns the events counted without a decode, per format.
    pub(crate) fn into_events(self) -> Vec<(&'static str, u64)> {
        self.events
    }
}
