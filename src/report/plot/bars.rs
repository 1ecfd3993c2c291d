//! Metric bars per group: one horizontal bar per group, its value as text, CI whiskers when the
//! value has an interval, the reference group labelled `(ref)`, and the policy's allowed range
//! shaded.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{clip, label_width, legend, svg, text_style, Icon, BAND, INK, PALETTE, WIDTH};
use crate::error::Result;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Group label.
    pub label: String,
    /// The value (a rate in [0, 1] or any non-negative metric).
    pub value: f64,
    /// Confidence interval, when the value carries one.
    pub ci: Option<(f64, f64)>,
    /// True for the reference group.
    pub reference: bool,
}

/// A bar chart of one metric over the groups of one attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Chart title.
    pub title: String,
    /// Axis description (the metric).
    pub metric: String,
    /// Bars, top to bottom.
    pub bars: Vec<Bar>,
    /// The allowed range of a policy on this metric: (lower, upper); an open side is `None`.
    pub band: Option<(Option<f64>, Option<f64>)>,
}

/// The chart as SVG. The shaded band has the CSS class-like id `band` in its title text
/// ("allowed range …") so a reader (and a test) can find it.
pub fn metric_bars(chart: &BarChart) -> Result<String> {
    let n = chart.bars.len().max(1);
    let height = 84 + 26 * n as u32;
    let left = label_width(
        chart
            .bars
            .iter()
            .map(|b| b.label.chars().count() + if b.reference { 6 } else { 0 })
            .max()
            .unwrap_or(0),
    );
    let data_max = chart
        .bars
        .iter()
        .map(|b| b.ci.map_or(b.value, |(_, hi)| hi.max(b.value)))
        .chain(
            chart
                .band
                .into_iter()
                .flat_map(|(lo, hi)| lo.into_iter().chain(hi)),
        )
        .fold(0.0f64, f64::max);
    // Rates live in [0, 1]; other metrics get 10% headroom. Signed metrics (a regression's
    // mean error, issue 11) extend the axis below 0; for rates x_min stays 0.
    let x_max = if data_max <= 1.0 { 1.0 } else { data_max * 1.1 };
    let data_min = (chart.bars.iter())
        .map(|b| b.ci.map_or(b.value, |(lo, _)| lo.min(b.value)))
        .chain((chart.band.into_iter()).flat_map(|(lo, hi)| lo.into_iter().chain(hi)))
        .fold(0.0f64, f64::min);
    let x_min = if data_min < 0.0 { data_min * 1.1 } else { 0.0 };
    svg(&chart.title, (WIDTH, height), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(&chart.title, text_style(15))
            .margin(8)
            .margin_top(14)
            .margin_right(24)
            .x_label_area_size(34)
            .y_label_area_size(left)
            .build_cartesian_2d(x_min..x_max, 0f64..n as f64)?;
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_desc(chart.metric.as_str())
            .axis_desc_style(text_style(12))
            .label_style(text_style(11))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .draw()?;
        if let Some((lo, hi)) = chart.band {
            let (lo, hi) = (
                lo.unwrap_or(x_min).max(x_min),
                hi.unwrap_or(x_max).min(x_max),
            );
            c.draw_series(std::iter::once(Rectangle::new(
                [(lo, 0.0), (hi, n as f64)],
                BAND.mix(0.15).filled(),
            )))?;
            for edge in [lo, hi] {
                if edge > x_min && edge < x_max {
                    c.draw_series(std::iter::once(PathElement::new(
                        vec![(edge, 0.0), (edge, n as f64)],
                        BAND.stroke_width(2),
                    )))?;
                }
            }
        }
        for (i, b) in chart.bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let color = if b.reference { PALETTE[1] } else { PALETTE[0] };
            c.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.18), (b.value.clamp(x_min, x_max), y + 0.82)],
                color.filled(),
            )))?;
            if let Some((lo, hi)) = b.ci {
                let whisker = INK.stroke_width(1);
                c.draw_series([
                    PathElement::new(vec![(lo, y + 0.5), (hi, y + 0.5)], whisker),
                    PathElement::new(vec![(lo, y + 0.3), (lo, y + 0.7)], whisker),
                    PathElement::new(vec![(hi, y + 0.3), (hi, y + 0.7)], whisker),
                ])?;
            }
            let end = b.ci.map_or(b.value, |(_, hi)| hi.max(b.value));
            let (px, py) = c.backend_coord(&(end.min(x_max), y + 0.5));
            root.draw(&Text::new(
                format!("{:.3}", b.value),
                (px + 4, py),
                text_style(11).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            let (lx, ly) = c.backend_coord(&(x_min, y + 0.5));
            let label = if b.reference {
                format!("{} (ref)", clip(&b.label, 26))
            } else {
                clip(&b.label, 32)
            };
            root.draw(&Text::new(
                label,
                (lx - 6, ly),
                text_style(12).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        if chart.band.is_some() {
            let label = format!("allowed range {}", band_text(chart.band));
            let x = WIDTH as i32 - 8 - (label.chars().count() as i32 * 6 + 34);
            legend(root, (x, 4), &[(label, Icon::Swatch(BAND))])?;
        }
        Ok(())
    })
}

/// `[lo, hi]`, `≥ lo` or `≤ hi`.
pub(crate) fn band_text(band: Option<(Option<f64>, Option<f64>)>) -> String {
    match band {
        Some((Some(lo), Some(hi))) => format!("[{lo}, {hi}]"),
        Some((Some(lo), None)) => format!("≥ {lo}"),
        Some((None, Some(hi))) => format!("≤ {hi}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plot::tests::count;

    fn chart(band: Option<(Option<f64>, Option<f64>)>) -> BarChart {
        BarChart {
            title: "selection_rate by sex".into(),
            metric: "selection_rate".into(),
            bars: vec![
                Bar {
                    label: "female".into(),
                    value: 0.2,
                    ci: Some((0.15, 0.25)),
                    reference: false,
                },
                Bar {
                    label: "male".into(),
                    value: 0.4,
                    ci: None,
                    reference: true,
                },
            ],
            band,
        }
    }

    #[test]
    fn one_bar_per_group_with_labels_whiskers_and_band() {
        let svg = metric_bars(&chart(Some((None, Some(0.3))))).unwrap();
        assert!(svg.starts_with("<svg class=\"chart\" role=\"img\""));
        // Bars are the filled rectangles in the palette's blue and orange.
        assert_eq!(count(&svg, "fill=\"#0072B2\""), 1, "{svg}");
        assert_eq!(count(&svg, "fill=\"#E69F00\""), 1);
        assert!(svg.contains("female"));
        assert!(svg.contains("male (ref)"));
        assert!(svg.contains("0.200") && svg.contains("0.400"));
        // Band: the shaded rectangle and its legend label.
        assert!(svg.contains("allowed range ≤ 0.3"));
        assert!(svg.contains("fill=\"#009E73\""));
        // Whiskers: three stroked paths for the one CI.
        assert_eq!(
            count(
                &svg,
                "<polyline fill=\"none\" opacity=\"1\" stroke=\"#222222\""
            ),
            3
        );
    }

    #[test]
    fn no_band_without_a_policy() {
        let svg = metric_bars(&chart(None)).unwrap();
        assert!(!svg.contains("allowed range"));
    }
}
