//! fairaudit: fairness and bias audits of model predictions.
//!
//! The pipeline, in five steps:
//! 1. [`spec`]: a TOML spec and/or flags are checked into an [`spec::Audit`];
//! 2. [`input`]: the predictions file (CSV or Parquet) streams as validated batches;
//! 3. [`aggregate`]: one pass fills mergeable per-group sufficient statistics;
//! 4. [`metrics`]: every rate, disparity and summary is a pure function of them, [`stats`]
//!    adds their uncertainty, and [`verdict`] judges the policies;
//! 5. [`report`]: one [`report::AuditReport`] model, rendered as JSON or a terminal summary.
//!
//! ```
//! use fairaudit::spec::policy::parse;
//! let policy = parse("demographic_parity_ratio on race >= 0.8").unwrap();
//! assert_eq!(policy.attribute.as_deref(), Some("race"));
//! ```
#![deny(missing_docs)]

pub mod aggregate;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod error;
pub mod init;
pub mod input;
pub mod metrics;
pub mod mitigate;
pub mod output;
pub mod partials;
pub mod provenance;
pub mod report;
pub mod spec;
pub mod stats;
pub mod synth;
pub mod tasks;
pub mod verdict;
pub mod verify;

pub use error::{Error, Result};
