//! Integration tests: one binary, one module per concern.

mod browser;
mod cli;
mod demo;
mod golden;
mod properties;
mod report;
mod sample;
mod util;
