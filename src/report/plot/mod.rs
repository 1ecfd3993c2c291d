//! Charts for the HTML report: pure functions from plain data to an SVG string, drawn with
//! plotters' SVG backend (no fonts needed: text becomes `<text>` elements the browser sets).
//!
//! Every chart is an `<svg class="chart" role="img" aria-label="…">` with a `<title>`, uses the
//! Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), and never
//! carries meaning by colour alone: series have distinct marker shapes and text legends, bars
//! carry their value as text, the reference group is labelled `(ref)`, heat-map cells show
//! their number.
//!
//! The charts take already-selected values; they do not compute metrics. Their only
//! arithmetic is layout (axis ranges, pixel positions) and, for the score distribution, the
//! share of a group's rows per bin, which is how a histogram is drawn.

use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

mod bars;
mod curves;
mod disparity;
mod heatmap;
mod tradeoff;

pub use bars::{metric_bars, Bar, BarChart};
pub use curves::{reliability, roc, score_distribution, Curve, Histogram};
pub use disparity::{disparity, DisparityChart, DisparitySeries};
pub use heatmap::{heatmap, Heatmap, HeatmapCell};
pub use tradeoff::{tradeoff, TradeoffChart};

use crate::error::{Error, Result};

/// Okabe & Ito (2008) colour-blind-safe palette, without black: blue, orange, bluish green,
/// vermillion, sky blue, reddish purple, yellow, grey.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x66, 0x66, 0x66),
];

/// The shade of an allowed range (policy band).
pub(crate) const BAND: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// Axis and text colour.
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// Font family of every label: the reader's own sans-serif, nothing is fetched.
pub(crate) const FONT: &str = "sans-serif";

/// Chart width in pixels (the SVG scales down to the page with its viewBox).
pub(crate) const WIDTH: u32 = 720;

/// A marker shape, cycled with the colours so that series differ without colour.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    Circle,
    Triangle,
    Square,
    Cross,
}

pub(crate) const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Triangle, Shape::Square, Shape::Cross];

/// Colour and shape of series `i`.
pub(crate) fn series_style(i: usize) -> (RGBColor, Shape) {
    (PALETTE[i % PALETTE.len()], SHAPES[i % SHAPES.len()])
}

/// A marker of `shape` at `at` (any coordinate system), as a filled polygon in pixels around
/// the point: every shape has the same element type, so legends and series share it.
pub(crate) fn marker<C>(at: C, shape: Shape, color: RGBColor, size: i32) -> Marker<C> {
    let r = size as f64;
    let pts: Vec<(i32, i32)> = match shape {
        Shape::Circle => (0..12)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 12.0;
                ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
            })
            .collect(),
        Shape::Triangle => {
            let h = (r * 1.2).round() as i32;
            vec![(0, -h), (h, h * 3 / 4), (-h, h * 3 / 4)]
        }
        Shape::Square => vec![(-size, -size), (size, -size), (size, size), (-size, size)],
        Shape::Cross => {
            let (s, t) = (size + 1, (size / 3).max(1));
            vec![
                (-t, -s),
                (t, -s),
                (t, -t),
                (s, -t),
                (s, t),
                (t, t),
                (t, s),
                (-t, s),
                (-t, t),
                (-s, t),
                (-s, -t),
                (-t, -t),
            ]
        }
    };
    Marker { at, pts, color }
}

/// A filled polygon drawn in pixels around one point (see [`marker`]).
pub(crate) struct Marker<C> {
    at: C,
    pts: Vec<(i32, i32)>,
    color: RGBColor,
}

impl<'a, C> PointCollection<'a, C> for &'a Marker<C> {
    type Point = &'a C;
    type IntoIter = std::iter::Once<&'a C>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend, C> Drawable<DB> for Marker<C> {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        if let Some((x, y)) = pos.next() {
            let pts = self.pts.iter().map(|(dx, dy)| (x + dx, y + dy));
            backend.fill_polygon(pts, &self.color.filled())?;
        }
        Ok(())
    }
}

/// The symbol of a legend entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Icon {
    /// A shaded swatch (a band).
    Swatch(RGBColor),
    /// A dashed line (a reference diagonal).
    Dashed(RGBColor),
    /// A marker, optionally on a line.
    Series(RGBColor, Shape, bool),
}

/// Draw a legend with its top-left corner at `at` (pixels), one entry per 18 px, on a white
/// box. Drawn by hand on the root area so it can sit outside the plotting area.
pub(crate) fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    at: (i32, i32),
    entries: &[(String, Icon)],
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    if entries.is_empty() {
        return Ok(());
    }
    let (x, y) = at;
    let width = entries
        .iter()
        .map(|(l, _)| l.chars().count() as i32 * 6 + 34)
        .max()
        .unwrap_or(60);
    let height = entries.len() as i32 * 18 + 8;
    root.draw(&Rectangle::new(
        [(x, y), (x + width, y + height)],
        WHITE.mix(0.9).filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(x, y), (x + width, y + height)],
        RGBColor(0xBB, 0xBB, 0xBB).stroke_width(1),
    ))?;
    for (i, (label, icon)) in entries.iter().enumerate() {
        let cy = y + 13 + i as i32 * 18;
        let (ix, tx) = (x + 6, x + 28);
        match *icon {
            Icon::Swatch(c) => {
                root.draw(&Rectangle::new(
                    [(ix, cy - 5), (ix + 16, cy + 5)],
                    c.mix(0.3).filled(),
                ))?;
            }
            Icon::Dashed(c) => {
                root.draw(&PathElement::new(
                    vec![(ix, cy), (ix + 6, cy)],
                    c.stroke_width(1),
                ))?;
                root.draw(&PathElement::new(
                    vec![(ix + 10, cy), (ix + 16, cy)],
                    c.stroke_width(1),
                ))?;
            }
            Icon::Series(c, shape, line) => {
                if line {
                    root.draw(&PathElement::new(
                        vec![(ix, cy), (ix + 16, cy)],
                        c.stroke_width(2),
                    ))?;
                }
                root.draw(&marker((ix + 8, cy), shape, c, 4))?;
            }
        }
        root.draw(&Text::new(
            label.clone(),
            (tx, cy),
            text_style(11).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
    }
    Ok(())
}

/// Shorten a label to `max` characters with an ellipsis.
pub(crate) fn clip(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Pixels reserved for row labels of up to `longest` characters.
pub(crate) fn label_width(longest: usize) -> u32 {
    (longest.min(32) as u32 * 7 + 16).max(60)
}

/// Escape text for an SVG/HTML attribute or text node.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Draw into a fresh SVG of `size` and return it with `class="chart"`, an accessible name and
/// a `<title>`.
pub(crate) fn svg(
    title: &str,
    size: (u32, u32),
    draw: impl FnOnce(
        &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>>,
) -> Result<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(render)?;
        draw(&root).map_err(|e| Error::Render {
            format: "html",
            msg: format!("chart '{title}': {e}"),
        })?;
        root.present().map_err(render)?;
    }
    let title = escape(title);
    let open_end = buf.find('>').ok_or_else(|| Error::Render {
        format: "html",
        msg: "the SVG backend wrote no <svg> element".into(),
    })?;
    let head = buf[..open_end].replacen(
        "<svg ",
        &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{title}\" "),
        1,
    );
    Ok(format!(
        "{head}>\n<title>{title}</title>{}",
        &buf[open_end + 1..]
    ))
}

fn render(e: impl std::fmt::Display) -> Error {
    Error::Render {
        format: "html",
        msg: e.to_string(),
    }
}

/// A text style of `size` pixels.
pub(crate) fn text_style(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&INK)
}

#[cfg(test)]
pub(crate) mod tests {
    /// Occurrences of `needle` in `svg`.
    pub fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn labels_are_clipped_with_an_ellipsis() {
        assert_eq!(super::clip("abcdef", 4), "abc…");
        assert_eq!(super::clip("abc", 4), "abc");
    }
}
