//! A feature's mode: enforced, or monitored (a trial run that only says
//! what it would have refused).

use serde::{Deserialize, Serialize};

/// Whether a feature's checks refuse requests, or only record that they
/// would (a trial run before enforcing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse.
    #[default]
    Enforce,
    /// Let the request pass; audit `wouldRefuse` with the code.
    Monitor,
}

impl Mode {
    /// Whether it is the default, [`Mode::Enforce`] (left out of the
    /// password rules' JSON, so browser packages that predate the mode
    /// still read them).
    pub fn is_enforce(&self) -> bool {
        *self == Self::Enforce
    }
}
