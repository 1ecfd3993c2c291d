//! Bootstrap intervals of the distribution distances of a regression audit (issue 11): the
//! KS statistic and the 1-Wasserstein distance between a group's and the reference group's
//! predictions.
//!
//! Each replicate redraws each group's rows from its own kept values, Multinomial(n; rows per
//! value / n), so both groups keep their sizes; a value's rows carry its mean weight. A
//! replicate costs O(distinct values), never O(rows). Replicate r of comparison s draws from
//! `ChaCha8Rng::seed_from_u64(seed)` on stream (s << 32) | r, so intervals depend on the seed
//! and the order of the comparisons only. The interval is the percentile interval, widened to
//! contain the observed value ([`super::ci::percentile_interval`]).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

use super::ci::percentile_interval;
use crate::aggregate::regression::{Mass, ValueDistribution};
use crate::metrics::regression::{ks_statistic, wasserstein};

/// One bootstrap draw of a distribution's rows.
fn resample(d: &ValueDistribution, rng: &mut ChaCha8Rng) -> ValueDistribution {
    let points: Vec<Mass> = d.points().map(|(_, m)| m).collect();
    let n: u64 = points.iter().map(|m| m.rows).sum();
    let (mut left_n, mut left_c) = (n, n);
    let masses: Vec<Mass> = points
        .iter()
        .map(|m| {
            let x = if left_n == 0 || m.rows == 0 {
                0
            } else if m.rows == left_c {
                left_n
            } else {
                let p = m.rows as f64 / left_c as f64;
                Binomial::new(left_n, p).map_or(0, |b| b.sample(rng))
            };
            left_n -= x;
            left_c -= m.rows;
            let mean_weight = if m.rows > 0 {
                m.weight / m.rows as f64
            } else {
                0.0
            };
            Mass {
                rows: x,
                weight: x as f64 * mean_weight,
            }
        })
        .collect();
    d.with_masses(&masses)
}

/// Percentile intervals of (KS statistic, Wasserstein-1) of `g` against `r` over
/// `replicates` draws at `level`; `stream` numbers the comparison. `None` where the observed
/// value is undefined or too many replicates are.
pub fn distance_intervals(
    g: &ValueDistribution,
    r: &ValueDistribution,
    replicates: u32,
    seed: u64,
    stream: u64,
    level: f64,
) -> (Option<[f64; 2]>, Option<[f64; 2]>) {
    let (Some((ks, _)), Some((w1, _))) = (ks_statistic(g, r), wasserstein(g, r)) else {
        return (None, None);
    };
    let mut ks_draws = Vec::with_capacity(replicates as usize);
    let mut w1_draws = Vec::with_capacity(replicates as usize);
    for rep in 0..u64::from(replicates) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream((stream << 32) | rep);
        let (rg, rr) = (resample(g, &mut rng), resample(r, &mut rng));
        ks_draws.push(ks_statistic(&rg, &rr).map(|k| k.0));
        w1_draws.push(wasserstein(&rg, &rr).map(|w| w.0));
    }
    (
        percentile_interval(&ks_draws, level, ks),
        percentile_interval(&w1_draws, level, w1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(values: &[f64]) -> ValueDistribution {
        let mut d = ValueDistribution::default();
        values.iter().for_each(|&v| d.push(v, 1.0));
        d
    }

    #[test]
    fn resampling_keeps_sizes_and_intervals_contain_the_estimate() {
        let g = dist(&(0..200).map(|i| (i % 17) as f64).collect::<Vec<_>>());
        let r = dist(&(0..150).map(|i| (i % 13) as f64 + 1.0).collect::<Vec<_>>());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let d = resample(&g, &mut rng);
        assert_eq!(d.points().map(|(_, m)| m.rows).sum::<u64>(), 200);
        let (ks, w1) = distance_intervals(&g, &r, 200, 7, 0, 0.95);
        let (ks, w1) = (ks.unwrap(), w1.unwrap());
        let observed = (
            ks_statistic(&g, &r).unwrap().0,
            wasserstein(&g, &r).unwrap().0,
        );
        assert!(ks[0] <= observed.0 && observed.0 <= ks[1], "{ks:?}");
        assert!(w1[0] <= observed.1 && observed.1 <= w1[1], "{w1:?}");
        assert!(w1[1] > w1[0]);
        // Same seed, same intervals.
        assert_eq!(
            distance_intervals(&g, &r, 200, 7, 0, 0.95),
            (Some(ks), Some(w1))
        );
    }
}
