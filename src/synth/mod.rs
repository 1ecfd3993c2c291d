//! Synthetic predictions tables with known, injected bias (`fairaudit synth`).
//!
//! [`write()`] streams a table of [`SynthOptions::rows`] rows to a Parquet, CSV or gzipped
//! CSV file; [`generate`] yields the same rows as [`Chunk`]s. Memory does not grow with
//! the number of rows.
//!
//! # Schema
//!
//! | column       | type            | content                                             |
//! |--------------|-----------------|-----------------------------------------------------|
//! | `id`         | int64           | 1, 2, …, N                                          |
//! | `label`      | int64           | true outcome, 0 or 1                                |
//! | `score`      | float64         | model score in \[0, 1\], rounded to 4 decimals      |
//! | `prediction` | int64           | 1 if `score` ≥ `--threshold`, else 0                |
//! | `sex`        | string          | female 48 %, male 52 %                              |
//! | `race`       | string          | white 58, hispanic 19, black 13, asian 7, other 3 % |
//! | `age_group`  | string          | 18-29 21, 30-44 27, 45-64 33, 65+ 19 %              |
//! | `region`     | string          | with `--regions K`: `region_1` … `region_K`, ∝ 1/k  |
//! | `weight`     | float64         | with `--weights`: 0.5, 1, 2, 4 w.p. .2, .5, .2, .1  |
//!
//! Attribute values are null (Parquet) or empty (CSV) when missing.
//!
//! # Generative model
//!
//! Each row is drawn independently:
//!
//! 1. The protected attributes are drawn independently from the shares above.
//! 2. The label is `Y ~ Bernoulli(b_s)`, with `b_s` the `--base-rate` of the row's `sex`
//!    `s` (default female 0.30, male 0.45). The other attributes do not affect `Y`.
//! 3. Latent evidence `E = d·(Y − ½) + ε`, `ε ~ N(0, 1)`, `d` = `--separation`
//!    (default 1.2). Since `N(d/2, 1)` and `N(−d/2, 1)` have likelihood ratio `exp(d·E)`,
//!    the true posterior logit is `L = logit(b_s) + d·E`: `σ(L) = P(Y = 1 | E, s)` is a
//!    perfectly calibrated score whose within-group AUC is `Φ(d/√2)` (0.80 for d = 1.2).
//! 4. The model's score is `score = round₄(σ(m·L + δ))`, where `m` is the product of the
//!    `--miscalibration` factors of the row's groups (m > 1 overconfident, default 1.5
//!    for age 65+) and `δ` the sum of their `--score-shift`s (default −0.4 for black).
//!    With `m = 1` and `δ = 0` the score is calibrated within every group.
//! 5. `prediction = [score ≥ t]`, `t` = `--threshold` (default 0.5).
//! 6. With `--missing-rate r`, each protected value is independently blanked with
//!    probability `r` (missing completely at random), after the label and score are drawn.
//!
//! `--no-default-bias` gives every `sex` level the base rate 0.38 and removes the default
//! shift and miscalibration, so only explicitly given bias remains.
//!
//! # Determinism
//!
//! Rows are generated in chunks of [`CHUNK_ROWS`]. Every chunk and concern (label and
//! evidence, weights, each attribute's levels, each attribute's missingness) has its own
//! ChaCha8 stream, `ChaCha8Rng::seed_from_u64(seed)` with stream number
//! `16·chunk + slot`, so the output depends only on the options, never on the number of
//! threads. Consequently `--weights`, `--missing-rate` and `--regions` never change the
//! other columns, and `--score-shift`, `--miscalibration` and `--threshold` only change
//! `score` and `prediction`. `exp` and `ln` are computed with basic IEEE 754 operations
//! only (the standard library's are platform-dependent in the last bit), so the same
//! options give a byte-identical file on every machine.

mod detmath;
mod generate;
mod options;
mod output;
mod plan;

#[cfg(test)]
mod tests;

pub use generate::{Chunk, Chunks, CHUNK_ROWS};
pub use options::{
    GroupValue, SynthOptions, DEFAULT_BASE_RATES, DEFAULT_MISCALIBRATION, DEFAULT_ROWS,
    DEFAULT_SCORE_SHIFTS, DEFAULT_SEPARATION, DEFAULT_THRESHOLD, NEUTRAL_BASE_RATE,
};
pub use plan::Attribute;

use crate::error::Result;

/// Validates the options and returns the table's rows as a lazy iterator of chunks.
///
/// Fails with [`Error::Spec`](crate::error::Error::Spec) on an invalid option (a rate
/// outside its range, an unknown group, a group given twice). `opts.out` is not used.
pub fn generate(opts: &SynthOptions) -> Result<Chunks> {
    Ok(Chunks::new(plan::Plan::new(opts)?))
}

/// Generates the table and writes it to `opts.out`, returning the number of rows.
///
/// The format follows the extension (`.parquet`: ZSTD-compressed Parquet with row groups
/// of 1 Mi rows; `.csv`; `.csv.gz`). The file is written to `<out>.tmp-<pid>` in the same
/// directory and renamed over `out` when complete, so readers never see a partial file;
/// on failure the temporary file is removed and `out` is untouched.
pub fn write(opts: &SynthOptions) -> Result<u64> {
    let chunks = generate(opts)?;
    output::write_atomically(&opts.out, chunks)
}
