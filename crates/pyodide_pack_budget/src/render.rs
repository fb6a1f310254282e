//! The budget report for people: a terminal table and a Markdown table for a pull request, in the
//! spirit of size-limit's and bundlewatch's comments.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};
use pyodide_pack_pack::format_size;

use crate::check::{signed_change, BudgetReport, Item, ItemKind};

impl Item {
    /// Packages are many: a table shows one only when it has a limit or changed.
    fn shown(&self) -> bool {
        self.kind != ItemKind::Package || self.limit.is_some() || self.change().unwrap_or(0) != 0
    }

    fn status(&self) -> &'static str {
        match (&self.limit, self.over) {
            (_, Some(_)) => "over",
            (Some(_), None) => "ok",
            (None, _) => "",
        }
    }

    fn limit_cell(&self) -> String {
        self.limit
            .as_ref()
            .map(|l| format_size(l.bytes))
            .unwrap_or_else(|| "-".into())
    }

    /// `▲ +12.0 kB (+1.4%)`, `▼ -3.0 kB (-0.5%)`, `=`, or `-` without a baseline.
    fn change_cell(&self) -> String {
        match (self.change(), self.baseline) {
            (Some(0), _) => "=".into(),
            (Some(change), Some(base)) => {
                let arrow = if change > 0 { "▲" } else { "▼" };
                format!("{arrow} {}", signed_change(change, base))
            }
            _ => "-".into(),
        }
    }
}

impl BudgetReport {
    fn shown(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.shown())
    }

    fn summary_line(&self) -> String {
        let over = self.items.iter().filter(|i| i.over.is_some()).count();
        match (self.checked, over) {
            (0, _) => "no size budget set ([tool.pyodide-pack.budget], --max-growth)".into(),
            (n, 0) => format!("{n} size limit(s) checked: all within their limits"),
            (n, over) => format!("{n} size limit(s) checked: {over} over"),
        }
    }

    /// The terminal's table, then one line on the limits.
    pub fn render_text(&self) -> String {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(vec![
            "".to_string(),
            "output".to_string(),
            format!("size ({})", self.compression),
            "limit".to_string(),
            "change".to_string(),
        ]);
        for item in self.shown() {
            table.add_row(vec![
                item.status().to_string(),
                item.label(),
                format_size(item.size),
                item.limit_cell(),
                item.change_cell(),
            ]);
        }
        for column in 2..5 {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        let mut out = format!("{table}\n{}\n", self.summary_line());
        for note in &self.notes {
            out.push_str(&format!("warning: {note}\n"));
        }
        out
    }

    /// A Markdown table for a pull-request comment.
    pub fn render_markdown(&self, title: &str) -> String {
        let mut out = format!(
            "### {title}\n\nSizes as a CDN serves them ({}).\n\n",
            self.compression
        );
        out.push_str("| | Path | Size | Limit | Change |\n| :-: | --- | --: | --: | --: |\n");
        for item in self.shown() {
            let status = match item.status() {
                "over" => "❌",
                "ok" => "✅",
                _ => "",
            };
            out.push_str(&format!(
                "| {status} | `{}` | {} | {} | {} |\n",
                item.label().replace('|', "\\|"),
                format_size(item.size),
                item.limit_cell(),
                item.change_cell()
            ));
        }
        let breaches = self.breaches();
        if !breaches.is_empty() {
            out.push('\n');
        }
        for breach in breaches {
            out.push_str(&format!("- ❌ {breach}\n"));
        }
        out.push_str(&format!("\n{}\n", self.summary_line()));
        out
    }
}
