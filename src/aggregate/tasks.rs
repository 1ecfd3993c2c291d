//! The streaming pass of multiclass and regression audits (issue 11): per-cell
//! [`ClassConfusion`]s or [`RegressionStats`], folded row by row in file order.
//!
//! As in the binary pass, each stream (all of a CSV file; a Parquet row group or range) is folded row
//! by row in its own order, batches that arrive early wait for their turn, and streams are
//! merged in file order, so the result depends neither on the thread count nor on the batch
//! size.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::multiclass::ClassConfusion;
use super::regression::RegressionStats;
use super::{cell_indices, CellKey};
use crate::error::{Error, Result};
use crate::input::{self, Batch, Columns, Outcomes, Source};

/// Statistics a multiclass or regression cell accumulates from batches.
pub trait TaskStats: Default + Clone + Send {
    /// Push the rows of `batch`, row `r` into `stats[cell_of_row[r]]`, in row order.
    fn push_rows(stats: &mut [Self], batch: &Batch, cell_of_row: &[u32]);
    /// Add the statistics of other rows.
    fn merge(&mut self, other: &Self);
}

fn weight_of(batch: &Batch) -> impl Fn(usize) -> f64 + '_ {
    move |r| batch.weight.as_ref().map_or(1.0, |w| w[r])
}

impl TaskStats for ClassConfusion {
    fn push_rows(stats: &mut [Self], batch: &Batch, cell_of_row: &[u32]) {
        let Some(Outcomes::Classes {
            label,
            prediction,
            scores,
        }) = &batch.outcomes
        else {
            return;
        };
        fn text(c: &input::Categorical, r: usize) -> &str {
            c.levels[c.codes[r] as usize].as_deref().unwrap_or_default()
        }
        let w = weight_of(batch);
        for (r, &cell) in cell_of_row.iter().enumerate() {
            let s = &mut stats[cell as usize];
            s.push(text(label, r), text(prediction, r), w(r));
            if !scores.is_empty() {
                s.push_scores(text(label, r), scores.iter().map(|c| c[r]), w(r));
            }
        }
    }

    fn merge(&mut self, other: &Self) {
        ClassConfusion::merge(self, other);
    }
}

impl TaskStats for RegressionStats {
    fn push_rows(stats: &mut [Self], batch: &Batch, cell_of_row: &[u32]) {
        let Some(Outcomes::Values { label, prediction }) = &batch.outcomes else {
            return;
        };
        let w = weight_of(batch);
        for (r, &cell) in cell_of_row.iter().enumerate() {
            stats[cell as usize].push(label[r], prediction[r], w(r));
        }
    }

    fn merge(&mut self, other: &Self) {
        RegressionStats::merge(self, other);
    }
}

/// Statistics per cell of a multiclass or regression pass.
#[derive(Debug, Clone, Default)]
pub struct TaskAggregate<T> {
    /// One entry per non-empty cell.
    pub cells: BTreeMap<CellKey, T>,
    /// Data rows read, kept or skipped.
    pub rows_read: u64,
    /// Rows skipped (under `--skip-invalid`) per reason.
    pub skipped: BTreeMap<String, u64>,
}

impl<T: TaskStats> TaskAggregate<T> {
    /// Statistics of the groups formed by the protected columns at `positions`.
    pub fn roll_up(&self, positions: &[usize]) -> BTreeMap<CellKey, T> {
        let mut groups: BTreeMap<CellKey, T> = BTreeMap::new();
        for (key, stats) in &self.cells {
            let group: CellKey = positions.iter().map(|&p| key[p].clone()).collect();
            groups.entry(group).or_default().merge(stats);
        }
        groups
    }

    /// Statistics of all rows.
    pub fn total(&self) -> T {
        let mut all = T::default();
        self.cells.values().for_each(|s| all.merge(s));
        all
    }
}

/// Fold `batch` into `table`, row by row.
pub fn fold_batch<T: TaskStats>(batch: &Batch, table: &mut BTreeMap<CellKey, T>) {
    let (cell_of_row, keys) = cell_indices(batch);
    let mut stats: Vec<T> = (keys.iter())
        .map(|k| table.get_mut(k).map(std::mem::take).unwrap_or_default())
        .collect();
    T::push_rows(&mut stats, batch, &cell_of_row);
    for (key, s) in keys.into_iter().zip(stats) {
        table.insert(key, s);
    }
}

fn merge_into<T: TaskStats>(into: &mut BTreeMap<CellKey, T>, from: BTreeMap<CellKey, T>) {
    for (k, s) in from {
        match into.get_mut(&k) {
            Some(mine) => mine.merge(&s),
            None => {
                into.insert(k, s);
            }
        }
    }
}

struct Stream<T> {
    folded: BTreeMap<CellKey, T>,
    next: u64,
    early: BTreeMap<u64, Batch>,
    ended: bool,
}

impl<T> Default for Stream<T> {
    fn default() -> Self {
        Stream {
            folded: BTreeMap::new(),
            next: 0,
            early: BTreeMap::new(),
            ended: false,
        }
    }
}

struct State<T> {
    merged: BTreeMap<CellKey, T>,
    next_stream: u64,
    streams: BTreeMap<u64, Stream<T>>,
    skipped: BTreeMap<String, u64>,
}

impl<T: TaskStats> State<T> {
    fn advance(&mut self) {
        while let Some(s) = self.streams.get(&self.next_stream) {
            if !(s.ended && s.early.is_empty()) {
                break;
            }
            if let Some(s) = self.streams.remove(&self.next_stream) {
                merge_into(&mut self.merged, s.folded);
            }
            self.next_stream += 1;
        }
    }

    fn largest(&self) -> usize {
        (self.streams.values().map(|s| s.folded.len()))
            .chain([self.merged.len()])
            .max()
            .unwrap_or(0)
    }
}

/// Read `source` once into per-cell task statistics, failing as soon as the protected columns
/// form more than `max_cells` cells (as the binary pass does).
pub fn aggregate_task<T: TaskStats>(
    source: &Source,
    columns: &Columns,
    max_cells: usize,
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<TaskAggregate<T>> {
    let state = Mutex::new(State::<T> {
        merged: BTreeMap::new(),
        next_stream: 0,
        streams: BTreeMap::new(),
        skipped: BTreeMap::new(),
    });
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let sink = |seq: u64, batch: Batch| -> Result<()> {
        on_rows(batch.len() as u64 + batch.skipped.values().sum::<u64>());
        let (stream, index) = input::split_batch_seq(seq);
        let mut st = lock();
        for (reason, n) in &batch.skipped {
            *st.skipped.entry(reason.clone()).or_default() += n;
        }
        let s = st.streams.entry(stream).or_default();
        s.early.insert(index, batch);
        while let Some(b) = s.early.remove(&s.next) {
            fold_batch(&b, &mut s.folded);
            s.next += 1;
        }
        st.advance();
        if st.largest() > max_cells {
            return Err(Error::Schema {
                path: source.path.clone(),
                msg: format!(
                    "the protected columns ({}) form more than {max_cells} groups; is one of \
                     them an identifier? If the groups are intended, raise the limit with \
                     --max-groups N (or [audit] max_groups)",
                    columns.protected.join(", ")
                ),
            });
        }
        Ok(())
    };
    let end = |stream: u64| {
        let mut st = lock();
        st.streams.entry(stream).or_default().ended = true;
        st.advance();
    };
    let rows_read = input::read_streams(source, columns, &sink, &end)?;
    let mut st = state.into_inner().unwrap_or_else(|e| e.into_inner());
    // A CSV file is one stream that ends when the reader returns; every stream is complete
    // now, so the rest merge in stream order.
    for (_, s) in std::mem::take(&mut st.streams) {
        merge_into(&mut st.merged, s.folded);
    }
    Ok(TaskAggregate {
        cells: st.merged,
        rows_read,
        skipped: st.skipped,
    })
}
