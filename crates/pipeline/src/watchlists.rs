//! Turning loaded watchlists into a matcher.

use iocwatch_intel::Watchlist;
use iocwatch_matcher::{BuildError, DomainMatch, Matcher, MatcherBuilder};

/// Builds one matcher from every watchlist. Watchlists of the same name,
/// such as two files given one name, become one. Returns the matcher and
/// the number of indicators a watchlist listed twice.
///
/// # Errors
///
/// [`BuildError`] when there are more watchlists or indicators than the
/// matcher can number.
pub fn build_matcher(watchlists: Vec<Watchlist>) -> Result<(Matcher, u64), BuildError> {
    let mut builder = MatcherBuilder::new();
    let mut ids = std::collections::HashMap::new();
    for watchlist in watchlists {
        let id = *ids
            .entry(watchlist.name.clone())
            .or_insert_with(|| builder.add_watchlist(&watchlist.name, DomainMatch::Subdomains));
        builder.add_all(id, watchlist.indicators, |_| true);
    }
    let duplicates = builder.duplicates();
    Ok((builder.build()?, duplicates))
}
