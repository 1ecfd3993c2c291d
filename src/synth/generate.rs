//! Row generation, one chunk of consecutive rows at a time.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::detmath::{ln, round4, sigmoid};
use super::plan::{Attribute, Plan};

/// Rows per generated chunk (the last chunk may be shorter).
pub const CHUNK_ROWS: usize = 64 * 1024;

/// Random streams reserved per chunk: one per column-like concern (see [`Slot`]).
const STREAMS_PER_CHUNK: u64 = 16;

/// Sample weights and their probabilities for `--weights`.
const WEIGHTS: [(f64, f64); 4] = [(0.5, 0.2), (1.0, 0.5), (2.0, 0.2), (4.0, 0.1)];

/// Which random stream of a chunk a draw comes from. Separate streams keep columns
/// independent of each other's options: turning on `--weights` or `--missing-rate`, or
/// adding `--regions`, does not change any other column.
#[derive(Clone, Copy)]
enum Slot {
    /// Label and latent evidence.
    Outcome,
    /// Sample weights.
    Weight,
    /// Level codes of attribute `a`.
    Levels(usize),
    /// Missingness mask of attribute `a`.
    Missing(usize),
}

impl Slot {
    fn index(self) -> u64 {
        let index = match self {
            Slot::Outcome => 0,
            Slot::Weight => 1,
            Slot::Levels(a) => 2 + 2 * a,
            Slot::Missing(a) => 3 + 2 * a,
        };
        debug_assert!((index as u64) < STREAMS_PER_CHUNK);
        index as u64
    }
}

/// A chunk of consecutive rows, column by column. All vectors have the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// `id` of the first row (ids are 1-based and consecutive).
    pub first_id: u64,
    /// `label`, 0 or 1.
    pub label: Vec<u8>,
    /// `score` in [0, 1], rounded to 4 decimals.
    pub score: Vec<f64>,
    /// `prediction`: 1 when the score reaches the threshold.
    pub prediction: Vec<u8>,
    /// Level codes of each protected attribute, in the order of [`Chunks::attributes`];
    /// `None` is a missing value.
    pub attributes: Vec<Vec<Option<u16>>>,
    /// `weight`, present with `--weights`.
    pub weight: Option<Vec<f64>>,
}

impl Chunk {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.label.len()
    }

    /// True for a chunk without rows (never yielded by [`Chunks`]).
    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }
}

/// The rows of a synthetic table as an iterator of [`Chunk`]s of [`CHUNK_ROWS`] rows.
///
/// Memory does not grow with the number of rows: chunks are generated on demand, a few
/// at a time in parallel (each from its own random streams, so the result does not
/// depend on the number of threads).
#[derive(Debug)]
pub struct Chunks {
    plan: Plan,
    next: u64,
    count: u64,
    ready: VecDeque<Chunk>,
}

impl Chunks {
    pub(crate) fn new(plan: Plan) -> Self {
        let count = plan.rows.div_ceil(CHUNK_ROWS as u64);
        Chunks {
            plan,
            next: 0,
            count,
            ready: VecDeque::new(),
        }
    }

    /// The protected attributes, in column order; level codes index their `levels`.
    pub fn attributes(&self) -> &[Attribute] {
        &self.plan.attributes
    }

    /// Total number of rows, over all chunks.
    pub fn rows(&self) -> u64 {
        self.plan.rows
    }

    /// Whether the chunks carry a `weight` column.
    pub fn has_weights(&self) -> bool {
        self.plan.weights
    }

    /// Generates the next few chunks, one per thread.
    fn refill(&mut self) {
        let batch = rayon::current_num_threads().max(1) as u64;
        let end = self.count.min(self.next + batch);
        let plan = &self.plan;
        let chunks: Vec<Chunk> = (self.next..end)
            .into_par_iter()
            .map(|index| generate_chunk(plan, index))
            .collect();
        self.ready.extend(chunks);
        self.next = end;
    }
}

impl Iterator for Chunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.ready.is_empty() && self.next < self.count {
            self.refill();
        }
        self.ready.pop_front()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.count - self.next) as usize + self.ready.len();
        (left, Some(left))
    }
}

impl ExactSizeIterator for Chunks {}

/// The random stream `slot` of chunk `index`.
fn stream(plan: &Plan, index: u64, slot: Slot) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    rng.set_stream(index * STREAMS_PER_CHUNK + slot.index());
    rng
}

/// Chunk number `index`: a pure function of the plan and the index.
fn generate_chunk(plan: &Plan, index: u64) -> Chunk {
    let first = index * CHUNK_ROWS as u64;
    let len = (plan.rows - first).min(CHUNK_ROWS as u64) as usize;
    let codes: Vec<Vec<u16>> = (0..plan.attributes.len())
        .map(|a| {
            let mut rng = stream(plan, index, Slot::Levels(a));
            (0..len)
                .map(|_| pick(&plan.cumulative[a], rng.random()))
                .collect()
        })
        .collect();
    let outcomes = outcomes(plan, &codes, &mut stream(plan, index, Slot::Outcome));
    let weight = plan.weights.then(|| {
        let mut rng = stream(plan, index, Slot::Weight);
        (0..len).map(|_| draw_weight(&mut rng)).collect()
    });
    let attributes = codes
        .into_iter()
        .enumerate()
        .map(|(a, codes)| {
            let mut rng = stream(plan, index, Slot::Missing(a));
            mask_missing(codes, plan.missing_rate, &mut rng)
        })
        .collect();
    Chunk {
        first_id: first + 1,
        label: outcomes.label,
        score: outcomes.score,
        prediction: outcomes.prediction,
        attributes,
        weight,
    }
}

/// The outcome columns of a chunk.
struct Outcomes {
    label: Vec<u8>,
    score: Vec<f64>,
    prediction: Vec<u8>,
}

/// Label, score and prediction of each row, given the attribute codes (`codes[a][row]`).
fn outcomes(plan: &Plan, codes: &[Vec<u16>], rng: &mut ChaCha8Rng) -> Outcomes {
    let len = codes.first().map_or(0, Vec::len);
    let mut out = Outcomes {
        label: Vec::with_capacity(len),
        score: Vec::with_capacity(len),
        prediction: Vec::with_capacity(len),
    };
    for row in 0..len {
        let group = usize::from(codes[0][row]);
        let label = rng.random::<f64>() < plan.base_rate[group];
        let centre = if label { 0.5 } else { -0.5 };
        let evidence = plan.separation * centre + standard_normal(rng);
        let true_logit = plan.base_logit[group] + plan.separation * evidence;
        let (factor, shift) = bias(plan, codes, row);
        let score = round4(sigmoid(factor * true_logit + shift));
        out.label.push(u8::from(label));
        out.score.push(score);
        out.prediction.push(u8::from(score >= plan.threshold));
    }
    out
}

/// The product of the miscalibration factors and the sum of the score shifts of a row's
/// groups.
fn bias(plan: &Plan, codes: &[Vec<u16>], row: usize) -> (f64, f64) {
    let mut factor = 1.0;
    let mut shift = 0.0;
    for (a, column) in codes.iter().enumerate() {
        let level = usize::from(column[row]);
        factor *= plan.factor[a][level];
        shift += plan.shift[a][level];
    }
    (factor, shift)
}

/// The level whose cumulative share first exceeds `u` (inverse-CDF sampling).
fn pick(cumulative: &[f64], u: f64) -> u16 {
    let level = cumulative.partition_point(|&c| c <= u);
    level.min(cumulative.len() - 1) as u16
}

fn draw_weight(rng: &mut ChaCha8Rng) -> f64 {
    let mut u: f64 = rng.random();
    for (weight, probability) in WEIGHTS {
        if u < probability {
            return weight;
        }
        u -= probability;
    }
    WEIGHTS[WEIGHTS.len() - 1].0
}

/// Replaces each code by `None` with probability `rate` (no draws when `rate` is 0).
fn mask_missing(codes: Vec<u16>, rate: f64, rng: &mut ChaCha8Rng) -> Vec<Option<u16>> {
    if rate == 0.0 {
        return codes.into_iter().map(Some).collect();
    }
    codes
        .into_iter()
        .map(|code| (rng.random::<f64>() >= rate).then_some(code))
        .collect()
}

/// A standard normal draw by Marsaglia's polar method (platform-independent `ln`).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u = 2.0 * rng.random::<f64>() - 1.0;
        let v = 2.0 * rng.random::<f64>() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * ln(s) / s).sqrt();
        }
    }
}
