//! stub
use super::{Columns, Sink, Source};
use crate::error::Result;
/// stub
pub fn read(
    _source: &Source,
    _columns: &Columns,
    _batch_rows: usize,
    _sink: &Sink<'_>,
) -> Result<u64> {
    todo!()
}
