//! What the binary shares about channels with the control plane: the slate source of a
//! channel's generated slate. Keeping playout's directory and the plans in step with the database
//! is the control plane's registry (`onair_control::registry`).

pub use onair_control::grid::slate_source;
