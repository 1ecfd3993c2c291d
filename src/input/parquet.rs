//! stub
use super::{Columns, Sink, Source};
use crate::error::Result;
/// stub
pub fn read(_source: &Source, _columns: &Columns, _sink: &Sink<'_>) -> Result<u64> {
    todo!()
}
