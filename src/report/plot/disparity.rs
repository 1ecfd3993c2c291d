//! Disparity against the reference group: each group's ratio m_g / m_ref on a log axis (so
//! 0.5 and 2 are equally far from parity), one marker shape and colour per metric, parity (1)
//! drawn as a line and the 0.8–1.25 band shaded.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    clip, label_width, legend, marker, series_style, svg, text_style, Icon, BAND, INK, WIDTH,
};
use crate::error::Result;

/// Tick values of the ratio axis.
const TICKS: [f64; 13] = [
    0.05, 0.1, 0.2, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 5.0, 10.0, 20.0,
];

/// The ratios of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct DisparitySeries {
    /// Metric name, e.g. `selection_rate`.
    pub metric: String,
    /// One ratio per group in [`DisparityChart::groups`] order; `None` when undefined.
    pub ratios: Vec<Option<f64>>,
}

/// Ratios of several metrics over the non-reference groups of one attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct DisparityChart {
    /// Chart title.
    pub title: String,
    /// Group labels, top to bottom.
    pub groups: Vec<String>,
    /// One series per metric.
    pub series: Vec<DisparitySeries>,
    /// The shaded band, usually (0.8, 1.25).
    pub band: (f64, f64),
}

/// The chart as SVG.
pub fn disparity(chart: &DisparityChart) -> Result<String> {
    let n = chart.groups.len().max(1);
    // Room for the legend (band + one entry per metric) beside short charts.
    let height = (96 + 26 * n as u32).max(60 + 18 * (chart.series.len() as u32 + 1) + 40);
    let left = label_width(
        chart
            .groups
            .iter()
            .map(|g| g.chars().count())
            .max()
            .unwrap_or(0),
    );
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.ratios.iter().flatten())
        .copied()
        .filter(|x| *x > 0.0);
    let (lo, hi) = values.fold((chart.band.0, chart.band.1), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    // Symmetric on the log scale around parity, with a little room.
    let reach = (1.0 / lo).max(hi).max(1.5) * 1.15;
    let (x_lo, x_hi) = (1.0 / reach, reach);
    svg(&chart.title, (WIDTH, height), |root| {
        let mut c = ChartBuilder::on(root)
            .caption(&chart.title, text_style(15))
            .margin(8)
            .margin_right(150)
            .x_label_area_size(34)
            .y_label_area_size(left)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), 0f64..n as f64)?;
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .disable_x_mesh()
            .x_desc("ratio to the reference group (log scale)")
            .axis_desc_style(text_style(12))
            .label_style(text_style(11))
            .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
            .draw()?;
        // Ticks drawn by hand: plotters' log-scale ticks are too sparse on a narrow range.
        for t in TICKS.iter().copied().filter(|t| *t >= x_lo && *t <= x_hi) {
            c.draw_series(std::iter::once(PathElement::new(
                vec![(t, 0.0), (t, n as f64)],
                RGBColor(0xE4, 0xE4, 0xE4).stroke_width(1),
            )))?;
            let (px, py) = c.backend_coord(&(t, 0.0));
            root.draw(&Text::new(
                format!("{t}"),
                (px, py + 6),
                text_style(11).pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        let (b_lo, b_hi) = chart.band;
        c.draw_series(std::iter::once(Rectangle::new(
            [(b_lo, 0.0), (b_hi, n as f64)],
            BAND.mix(0.15).filled(),
        )))?;
        let mut entries = vec![(format!("band [{b_lo}, {b_hi}]"), Icon::Swatch(BAND))];
        c.draw_series(std::iter::once(PathElement::new(
            vec![(1.0, 0.0), (1.0, n as f64)],
            INK.stroke_width(1),
        )))?;
        let k = chart.series.len().max(1) as f64;
        for (s_i, s) in chart.series.iter().enumerate() {
            let (color, shape) = series_style(s_i);
            // Metrics side by side within a group's row, so markers do not hide each other.
            let offset = (s_i as f64 + 0.5) / k * 0.6 + 0.2;
            let points: Vec<(f64, f64)> = s
                .ratios
                .iter()
                .enumerate()
                .filter_map(|(g, r)| {
                    r.filter(|x| *x > 0.0)
                        .map(|x| (x.clamp(x_lo, x_hi), (n - 1 - g) as f64 + offset))
                })
                .collect();
            c.draw_series(points.iter().map(|p| marker(*p, shape, color, 5)))?;
            entries.push((clip(&s.metric, 18), Icon::Series(color, shape, false)));
        }
        for (g, label) in chart.groups.iter().enumerate() {
            let (lx, ly) = c.backend_coord(&(x_lo, (n - 1 - g) as f64 + 0.5));
            root.draw(&Text::new(
                clip(label, 32),
                (lx - 6, ly),
                text_style(12).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        legend(root, (WIDTH as i32 - 142, 36), &entries)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_band_and_labels() {
        let svg = disparity(&DisparityChart {
            title: "ratio vs male".into(),
            groups: vec!["female".into(), "other".into()],
            series: vec![
                DisparitySeries {
                    metric: "selection_rate".into(),
                    ratios: vec![Some(0.47), None],
                },
                DisparitySeries {
                    metric: "tpr".into(),
                    ratios: vec![Some(0.64), Some(1.1)],
                },
            ],
            band: (0.8, 1.25),
        })
        .unwrap();
        assert!(svg.contains("band [0.8, 1.25]"));
        assert!(svg.contains("selection_rate") && svg.contains("tpr"));
        assert!(svg.contains("female") && svg.contains("other"));
        // Markers: one per defined ratio, plus one per legend entry.
        assert_eq!(svg.matches("<polygon").count(), 3 + 2, "{svg}");
    }
}
