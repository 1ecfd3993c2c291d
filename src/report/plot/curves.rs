//! Curves per group on the unit square: reliability diagrams (mean score vs observed rate per
//! bin), ROC curves (FPR vs TPR), and score distributions (share of a group's rows per bin).
//! One colour and marker shape per group, with a text legend.

use plotters::prelude::*;

use super::{legend, marker, series_style, svg, text_style, Icon, INK, WIDTH};
use crate::error::Result;

/// One group's curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Group label.
    pub label: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// One group's histogram: (bin low edge, bin high edge, rows in the bin).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Group label.
    pub label: String,
    /// Bins in score order.
    pub bins: Vec<(f64, f64, u64)>,
}

const HEIGHT: u32 = 440;

fn unit_square(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    y_max: f64,
    diagonal: Option<&str>,
    curves: &[Curve],
    markers: bool,
) -> Result<String> {
    svg(title, (WIDTH, HEIGHT), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, text_style(15))
            .margin(8)
            .margin_right(200)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..y_max)?;
        c.configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .axis_desc_style(text_style(12))
            .label_style(text_style(11))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .draw()?;
        let mut entries = Vec::new();
        if let Some(diagonal_label) = diagonal {
            c.draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, y_max.min(1.0))],
                6,
                4,
                INK.mix(0.6).stroke_width(1),
            ))?;
            entries.push((diagonal_label.to_string(), Icon::Dashed(INK)));
        }
        for (i, curve) in curves.iter().enumerate() {
            let (color, shape) = series_style(i);
            c.draw_series(LineSeries::new(
                curve.points.iter().copied(),
                color.stroke_width(2),
            ))?;
            entries.push((
                super::clip(&curve.label, 26),
                Icon::Series(color, shape, true),
            ));
            if markers {
                c.draw_series(curve.points.iter().map(|p| marker(*p, shape, color, 4)))?;
            }
        }
        legend(root, (WIDTH as i32 - 196, 40), &entries)?;
        Ok(())
    })
}

/// Reliability diagram: per group, (mean score, observed rate) of each non-empty bin, and the
/// diagonal of perfect calibration.
pub fn reliability(title: &str, curves: &[Curve]) -> Result<String> {
    unit_square(
        title,
        "mean score in bin",
        "observed rate of label 1",
        1.0,
        Some("perfect calibration"),
        curves,
        true,
    )
}

/// ROC curves per group, with the chance diagonal.
pub fn roc(title: &str, curves: &[Curve]) -> Result<String> {
    unit_square(
        title,
        "false positive rate",
        "true positive rate",
        1.0,
        Some("chance"),
        curves,
        false,
    )
}

/// Score distribution per group: the share of the group's rows in each bin, drawn at the bin
/// centre (a frequency polygon, so groups of any size compare).
pub fn score_distribution(title: &str, groups: &[Histogram]) -> Result<String> {
    let curves: Vec<Curve> = groups
        .iter()
        .map(|h| {
            let total: u64 = h.bins.iter().map(|b| b.2).sum();
            Curve {
                label: h.label.clone(),
                points: h
                    .bins
                    .iter()
                    .map(|&(lo, hi, n)| {
                        let share = if total == 0 {
                            0.0
                        } else {
                            n as f64 / total as f64
                        };
                        ((lo + hi) / 2.0, share)
                    })
                    .collect(),
            }
        })
        .collect();
    let top = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let y_max = ((top * 1.15) * 20.0).ceil() / 20.0;
    unit_square(
        title,
        "score",
        "share of the group's rows",
        y_max.max(0.05),
        None,
        &curves,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves() -> Vec<Curve> {
        vec![
            Curve {
                label: "female".into(),
                points: vec![(0.1, 0.12), (0.5, 0.4), (0.9, 0.8)],
            },
            Curve {
                label: "male".into(),
                points: vec![(0.1, 0.05), (0.5, 0.55), (0.9, 0.95)],
            },
        ]
    }

    #[test]
    fn one_line_per_group_and_a_legend() {
        let svg = reliability("reliability by sex", &curves()).unwrap();
        assert!(
            svg.contains("female") && svg.contains("male") && svg.contains("perfect calibration")
        );
        assert!(svg.contains("stroke=\"#0072B2\"") && svg.contains("stroke=\"#E69F00\""));
        // Markers: 3 per group, plus one per legend entry.
        assert_eq!(svg.matches("<polygon").count(), 2 * 3 + 2);
    }

    #[test]
    fn roc_has_no_markers() {
        let svg = roc("ROC by sex", &curves()).unwrap();
        assert_eq!(svg.matches("<polygon").count(), 2, "legend only");
    }

    #[test]
    fn histogram_shares_fit_the_axis() {
        let svg = score_distribution(
            "scores",
            &[Histogram {
                label: "a".into(),
                bins: vec![(0.0, 0.5, 3), (0.5, 1.0, 1)],
            }],
        )
        .unwrap();
        assert!(svg.contains("share of the group"));
    }
}
