//! Heat map of one metric over a two-attribute intersection: rows are the first attribute's
//! values, columns the second's. Every cell prints its value (colour is never the only
//! carrier); suppressed cells are grey and say `n < k`; absent combinations say `none`. The
//! colour scale is cividis-like (blue to yellow), readable with colour-vision deficiencies.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{clip, svg, text_style, WIDTH};
use crate::error::Result;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum HeatmapCell {
    /// A defined value.
    Value(f64),
    /// Undefined (e.g. 0/0).
    Undefined,
    /// The group is below the minimum size: no value shown.
    Suppressed(u64),
    /// No row has this combination.
    Absent,
}

/// A heat map.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Chart title.
    pub title: String,
    /// Row attribute name and values.
    pub rows: (String, Vec<String>),
    /// Column attribute name and values.
    pub cols: (String, Vec<String>),
    /// `cells[row][col]`.
    pub cells: Vec<Vec<HeatmapCell>>,
}

/// Cividis anchor colours (Nuñez et al. 2018), low to high.
const SCALE: [(u8, u8, u8); 5] = [
    (0x00, 0x22, 0x4E),
    (0x41, 0x4D, 0x6B),
    (0x7C, 0x7B, 0x78),
    (0xBC, 0xAF, 0x6F),
    (0xFD, 0xE7, 0x37),
];

fn color(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (SCALE.len() - 1) as f64;
    let i = (t.floor() as usize).min(SCALE.len() - 2);
    let f = t - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (SCALE[i], SCALE[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// The heat map as SVG.
pub fn heatmap(map: &Heatmap) -> Result<String> {
    let rows = map.rows.1.len().max(1) as i32;
    let cols = map.cols.1.len().max(1) as i32;
    let left = super::label_width(
        map.rows
            .1
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(0),
    ) as i32;
    let (top, cell_h) = (70, 34);
    let legend_w = 90;
    let cell_w = ((WIDTH as i32 - left - legend_w - 16) / cols).clamp(40, 140);
    let height = (top + rows * cell_h + 40) as u32;
    let values: Vec<f64> = map
        .cells
        .iter()
        .flatten()
        .filter_map(|c| match c {
            HeatmapCell::Value(x) => Some(*x),
            _ => None,
        })
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let scale = |x: f64| if hi > lo { (x - lo) / (hi - lo) } else { 0.5 };
    svg(&map.title, (WIDTH, height), |root| {
        root.draw(&Text::new(
            map.title.clone(),
            (WIDTH as i32 / 2, 12),
            text_style(15).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        root.draw(&Text::new(
            format!(
                "rows: {} · columns: {}",
                clip(&map.rows.0, 30),
                clip(&map.cols.0, 30)
            ),
            (WIDTH as i32 / 2, 32),
            text_style(11).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let max_chars = (cell_w / 7).max(4) as usize;
        for (j, col) in map.cols.1.iter().enumerate() {
            root.draw(&Text::new(
                clip(col, max_chars),
                (left + j as i32 * cell_w + cell_w / 2, top - 6),
                text_style(11).pos(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
        }
        for (i, row) in map.rows.1.iter().enumerate() {
            let y0 = top + i as i32 * cell_h;
            root.draw(&Text::new(
                clip(row, 32),
                (left - 6, y0 + cell_h / 2),
                text_style(12).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            for j in 0..map.cols.1.len() {
                let x0 = left + j as i32 * cell_w;
                let cell = map.cells.get(i).and_then(|r| r.get(j));
                let (fill, text, dark) = match cell {
                    Some(HeatmapCell::Value(x)) => {
                        let t = scale(*x);
                        (color(t), format!("{x:.3}"), t < 0.55)
                    }
                    Some(HeatmapCell::Undefined) => {
                        (RGBColor(0xF2, 0xF2, 0xF2), "undef.".into(), false)
                    }
                    Some(HeatmapCell::Suppressed(k)) => {
                        (RGBColor(0xD9, 0xD9, 0xD9), format!("n < {k}"), false)
                    }
                    Some(HeatmapCell::Absent) | None => (WHITE, "none".into(), false),
                };
                root.draw(&Rectangle::new(
                    [(x0 + 1, y0 + 1), (x0 + cell_w - 1, y0 + cell_h - 1)],
                    fill.filled(),
                ))?;
                let ink = if dark { WHITE } else { super::INK };
                root.draw(&Text::new(
                    text,
                    (x0 + cell_w / 2, y0 + cell_h / 2),
                    TextStyle::from((super::FONT, 12).into_font())
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        // Colour legend: five swatches from low to high with their values.
        if hi >= lo {
            let lx = WIDTH as i32 - legend_w + 6;
            for s in 0..5 {
                let t = s as f64 / 4.0;
                let y0 = top + s * 20;
                root.draw(&Rectangle::new(
                    [(lx, y0), (lx + 16, y0 + 18)],
                    color(t).filled(),
                ))?;
                root.draw(&Text::new(
                    format!("{:.3}", lo + t * (hi - lo)),
                    (lx + 22, y0 + 9),
                    text_style(11).pos(Pos::new(HPos::Left, VPos::Center)),
                ))?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_prints_its_value_or_why_not() {
        let svg = heatmap(&Heatmap {
            title: "selection_rate over sex & race".into(),
            rows: ("sex".into(), vec!["female".into(), "male".into()]),
            cols: ("race".into(), vec!["black".into(), "white".into()]),
            cells: vec![
                vec![HeatmapCell::Value(0.2), HeatmapCell::Suppressed(30)],
                vec![HeatmapCell::Value(0.4), HeatmapCell::Absent],
            ],
        })
        .unwrap();
        assert!(svg.contains("0.200") && svg.contains("0.400"));
        assert!(svg.contains("n &lt; 30"));
        assert!(svg.contains("none"));
        assert!(svg.contains("female") && svg.contains("white"));
    }

    #[test]
    fn scale_runs_from_dark_blue_to_yellow() {
        assert_eq!(color(0.0), RGBColor(0x00, 0x22, 0x4E));
        assert_eq!(color(1.0), RGBColor(0xFD, 0xE7, 0x37));
    }
}
