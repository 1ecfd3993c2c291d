//! Per-cell sufficient statistics of a multiclass audit (issue 11): the confusion matrix,
//! (true class, predicted class) → rows, Σw and Σw², over the classes seen.
//!
//! Mergeable: [`ClassConfusion::merge`] of any split equals one pass (counts exactly; weight
//! sums up to rounding). Classes are text and ordered as text.

use std::collections::{BTreeMap, BTreeSet};

use super::regression::ValueDistribution;

/// Rows, Σw and Σw² of one (true class, predicted class) entry.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Entry {
    /// Rows.
    pub rows: u64,
    /// Σw.
    pub weight: f64,
    /// Σw² (Kish's effective sample size of the rates).
    pub weight_sq: f64,
}

impl Entry {
    fn add(&mut self, o: &Entry) {
        self.rows += o.rows;
        self.weight += o.weight;
        self.weight_sq += o.weight_sq;
    }
}

/// The K×K confusion matrix of one cell (only non-empty entries are stored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassConfusion {
    /// (true class, predicted class) → entry.
    pub entries: BTreeMap<(String, String), Entry>,
    /// Rows.
    pub rows: u64,
    /// Per class score column k (of `Columns::class_scores`): true class → the distribution
    /// of that column's scores over the rows of that true class (for one-vs-rest AUCs).
    pub scores: Vec<BTreeMap<String, ValueDistribution>>,
}

impl ClassConfusion {
    /// Add the scores of one row: `scores[k]` of score column k, true class `label`.
    pub fn push_scores(&mut self, label: &str, scores: impl ExactSizeIterator<Item = f64>, w: f64) {
        if self.scores.len() < scores.len() {
            self.scores.resize(scores.len(), BTreeMap::new());
        }
        for (by_label, s) in self.scores.iter_mut().zip(scores) {
            match by_label.get_mut(label) {
                Some(d) => d.push(s, w),
                None => {
                    let mut d = ValueDistribution::default();
                    d.push(s, w);
                    by_label.insert(label.to_string(), d);
                }
            }
        }
    }

    /// Add one row.
    pub fn push(&mut self, label: &str, prediction: &str, w: f64) {
        self.rows += 1;
        let one = Entry {
            rows: 1,
            weight: w,
            weight_sq: w * w,
        };
        // Look up without allocating: a row nearly always hits an existing entry.
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|((l, p), _)| l == label && p == prediction)
            .map(|(_, e)| e)
        {
            e.add(&one);
            return;
        }
        self.entries
            .insert((label.to_string(), prediction.to_string()), one);
    }

    /// Add the matrix of other rows.
    pub fn merge(&mut self, o: &ClassConfusion) {
        self.rows += o.rows;
        for (k, e) in &o.entries {
            self.entries.entry(k.clone()).or_default().add(e);
        }
        if self.scores.len() < o.scores.len() {
            self.scores.resize(o.scores.len(), BTreeMap::new());
        }
        for (mine, theirs) in self.scores.iter_mut().zip(&o.scores) {
            for (label, d) in theirs {
                match mine.get_mut(label) {
                    Some(m) => m.merge(d),
                    None => {
                        mine.insert(label.clone(), d.clone());
                    }
                }
            }
        }
    }

    /// Every class that occurs as a label or a prediction, in text order.
    pub fn classes(&self) -> BTreeSet<&str> {
        self.entries
            .keys()
            .flat_map(|(l, p)| [l.as_str(), p.as_str()])
            .collect()
    }

    /// The entry of (label, prediction); zero when absent.
    pub fn get(&self, label: &str, prediction: &str) -> Entry {
        self.entries
            .get(&(label.to_string(), prediction.to_string()))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_merge_agree() {
        let rows = [
            ("a", "a", 1.0),
            ("a", "b", 2.0),
            ("c", "a", 0.5),
            ("a", "b", 1.0),
        ];
        let mut one = ClassConfusion::default();
        rows.iter().for_each(|&(l, p, w)| one.push(l, p, w));
        let (mut x, mut y) = (ClassConfusion::default(), ClassConfusion::default());
        rows[..1].iter().for_each(|&(l, p, w)| x.push(l, p, w));
        rows[1..].iter().for_each(|&(l, p, w)| y.push(l, p, w));
        x.merge(&y);
        assert_eq!(x, one);
        assert_eq!(one.get("a", "b").rows, 2);
        assert_eq!(one.get("a", "b").weight, 3.0);
        assert_eq!(
            one.classes().into_iter().collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
