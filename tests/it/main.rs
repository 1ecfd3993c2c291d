//! Integration tests: one binary, one module per concern.

mod cli;
mod demo;
mod golden;
mod properties;
mod uncertainty;
mod util;
