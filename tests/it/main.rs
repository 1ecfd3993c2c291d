//! Integration tests: one binary, one module per concern.

mod browser;
mod calibration;
mod cli;
mod corpus;
mod demo;
mod determinism;
mod gating;
mod golden;
mod mitigation;
mod mitigation_run;
mod partials;
mod properties;
mod regression;
mod report;
mod robustness;
mod sample;
#[cfg(feature = "spark")]
mod spark;
mod tasks;
mod uncertainty;
mod util;
