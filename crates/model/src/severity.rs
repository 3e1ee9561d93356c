//! Alert severity, shared by watchlists, alerts and sink routes.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// Urgency of an alert, ordered from `Low` to `Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look when time allows.
    Low,
    /// Worth a look today.
    Medium,
    /// Worth a look now.
    High,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// Returns the lower-case name used in alert documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Returns the severity one level lower; `Low` stays `Low`.
    pub fn lower(self) -> Self {
        match self {
            Self::Low | Self::Medium => Self::Low,
            Self::High => Self::Medium,
            Self::Critical => Self::High,
        }
    }

    /// Derives a severity from an indicator confidence (0 to 100): 75 and
    /// more is high, 40 to 74 and an unknown confidence are medium, less
    /// is low.
    pub fn from_confidence(confidence: Option<u8>) -> Self {
        match confidence {
            None => Self::Medium,
            Some(75..) => Self::High,
            Some(40..75) => Self::Medium,
            Some(_) => Self::Low,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not `low`, `medium`, `high` or `critical`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}; expected low, medium, high or critical")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownSeverity(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse(), Ok(severity));
        }
        assert_eq!(" HIGH ".parse(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn confidence_bands() {
        assert_eq!(Severity::from_confidence(None), Severity::Medium);
        assert_eq!(Severity::from_confidence(Some(90)), Severity::High);
        assert_eq!(Severity::from_confidence(Some(75)), Severity::High);
        assert_eq!(Severity::from_confidence(Some(50)), Severity::Medium);
        assert_eq!(Severity::from_confidence(Some(39)), Severity::Low);
    }

    #[test]
    fn lower_stops_at_low() {
        assert_eq!(Severity::Critical.lower(), Severity::High);
        assert_eq!(Severity::Low.lower(), Severity::Low);
    }
}
