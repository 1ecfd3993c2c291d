//! The trade-off chart of `fairaudit mitigate`: utility against the fairness gap, one point
//! per tolerance of the sweep (joined by a line), the original decisions as a separate
//! marker, and the chosen tolerance labelled.

use plotters::prelude::*;

use super::{legend, marker, series_style, svg, text_style, Icon, INK, WIDTH};
use crate::error::Result;

/// What the chart shows; values already computed.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeoffChart {
    /// Chart title.
    pub title: String,
    /// The x axis: the objective's metric (e.g. `equalized_odds_difference`).
    pub x_desc: String,
    /// The y axis: the utility.
    pub y_desc: String,
    /// (gap, utility, label) per tolerance of the sweep, in tolerance order.
    pub sweep: Vec<(f64, f64, String)>,
    /// (gap, utility) of the chosen tolerance.
    pub chosen: Option<(f64, f64)>,
    /// (gap, utility) of the original decisions.
    pub before: Option<(f64, f64)>,
}

const HEIGHT: u32 = 420;

/// Draw the chart.
pub fn tradeoff(chart: &TradeoffChart) -> Result<String> {
    let all: Vec<(f64, f64)> = chart
        .sweep
        .iter()
        .map(|p| (p.0, p.1))
        .chain(chart.before)
        .collect();
    let x_max = all.iter().map(|p| p.0).fold(0.0f64, f64::max).max(0.01) * 1.1;
    let y_lo = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_hi = all.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((y_hi - y_lo) * 0.1).max(0.005);
    let (y_lo, y_hi) = if y_lo.is_finite() {
        (y_lo - pad, y_hi + pad)
    } else {
        (0.0, 1.0)
    };
    svg(&chart.title, (WIDTH, HEIGHT), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(&chart.title, text_style(15))
            .margin(8)
            .margin_right(200)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..x_max, y_lo..y_hi)?;
        c.configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_desc(chart.x_desc.as_str())
            .y_desc(chart.y_desc.as_str())
            .axis_desc_style(text_style(12))
            .label_style(text_style(11))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .draw()?;
        let mut entries = Vec::new();
        let (color, shape) = series_style(0);
        c.draw_series(LineSeries::new(
            chart.sweep.iter().map(|p| (p.0, p.1)),
            color.stroke_width(2),
        ))?;
        c.draw_series(
            chart
                .sweep
                .iter()
                .map(|p| marker((p.0, p.1), shape, color, 4)),
        )?;
        for p in &chart.sweep {
            c.draw_series(std::iter::once(Text::new(
                p.2.clone(),
                (p.0, p.1),
                text_style(10).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Bottom,
                )),
            )))?;
        }
        entries.push((
            "thresholds per tolerance".to_string(),
            Icon::Series(color, shape, true),
        ));
        if let Some(p) = chart.chosen {
            let (color, shape) = series_style(2);
            c.draw_series(std::iter::once(marker(p, shape, color, 7)))?;
            entries.push((
                "chosen tolerance".to_string(),
                Icon::Series(color, shape, false),
            ));
        }
        if let Some(p) = chart.before {
            let (color, shape) = series_style(1);
            c.draw_series(std::iter::once(marker(p, shape, color, 6)))?;
            entries.push((
                "before (original decisions)".to_string(),
                Icon::Series(color, shape, false),
            ));
        }
        let _ = INK;
        legend(root, (WIDTH as i32 - 196, 40), &entries)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_marker_per_sweep_point_plus_chosen_and_before() {
        let svg = tradeoff(&TradeoffChart {
            title: "utility vs gap".into(),
            x_desc: "equalized_odds_difference".into(),
            y_desc: "accuracy".into(),
            sweep: vec![
                (0.0, 0.70, "tol 0".into()),
                (0.05, 0.72, "tol 0.05".into()),
                (0.1, 0.73, "tol 0.1".into()),
            ],
            chosen: Some((0.05, 0.72)),
            before: Some((0.2, 0.74)),
        })
        .unwrap();
        // 3 sweep markers + chosen + before, and 3 legend markers.
        assert_eq!(svg.matches("<polygon").count(), 3 + 2 + 3);
        assert!(svg.contains("tol 0.05") && svg.contains("before (original decisions)"));
        assert!(svg.contains("equalized_odds_difference"));
    }
}
