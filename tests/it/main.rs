//! Integration tests: one binary, one module per concern.

mod calibration;
mod cli;
mod demo;
mod gating;
mod golden;
mod properties;
mod util;
