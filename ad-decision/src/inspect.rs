//! The JSON report of a decision, as `onair ads resolve TAG_URL` prints it: the
//! [`Resolution`] itself, whose every part serialises with stable snake_case field names.

use crate::resolve::Resolution;
use crate::vmap::Vmap;

/// The resolution as pretty-printed JSON.
pub fn resolution_json(resolution: &Resolution) -> String {
    serde_json::to_string_pretty(resolution).expect("a Resolution always serialises")
}

/// A VMAP's breaks as pretty-printed JSON.
pub fn vmap_json(vmap: &Vmap) -> String {
    serde_json::to_string_pretty(vmap).expect("a Vmap always serialises")
}
