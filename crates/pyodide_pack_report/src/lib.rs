//! The last stage: one machine-readable record of what went in and why (in the spirit of esbuild's
//! metafile), and the tables people read.
#![warn(unreachable_pub)]

mod chains;
mod html;
mod pack;
mod record;
mod table;
mod why;
mod why_report;

#[cfg(test)]
mod tests;

pub use html::render_report_html;
pub use pack::{render_pack, render_validation, PackReport};
pub use record::{AnalyzeRecord, FileIds, RECORD_SCHEMA};
pub use table::{format_size, render_analysis};
pub use why::{render_why, WhyRecord, WHY_SCHEMA};
pub use why_report::why_from_report;
