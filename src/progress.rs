//! The progress display while Node runs: a spinner on a terminal, one line per step otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use pyodide_pack_trace::{RunPlan, TraceProgress};

pub struct Spinner {
    bar: Option<ProgressBar>,
    what: String,
    total: usize,
}

impl Spinner {
    /// `what`: the activity, as in "tracing"; `total`: how many steps.
    pub fn new(what: &str, total: usize) -> Spinner {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Spinner {
            bar,
            what: what.to_string(),
            total,
        }
    }

    pub fn message(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {text}", self.what));
        }
    }

    /// A finished step: printed above the spinner (or alone, without a terminal).
    pub fn done(&self, text: &str) {
        let line = format!("{}: {text}", self.what);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl TraceProgress for Spinner {
    fn run_started(&self, plan: &RunPlan) {
        self.message(&format!(
            "running {} under Pyodide in Node ({} run(s))",
            plan.label, self.total
        ));
    }

    fn run_finished(&self, plan: &RunPlan, seconds: f64, ok: bool) {
        if !ok {
            return;
        }
        self.done(&format!("{} finished in {seconds:.1} s", plan.label));
    }
}
