//! A recorded baseline (`--save-baseline FILE`): the sizes of every item, so a later check can
//! say how much each grew (`--baseline FILE`) and fail past an allowed growth (`--max-growth`).

use std::collections::BTreeMap;
use std::path::Path;

use pyodide_pack_pack::Sizes;
use serde::{Deserialize, Serialize};

use crate::check::BudgetReport;
use crate::BudgetError;

pub const BASELINE_SCHEMA: &str = "pyodide-pack/size-baseline-1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: String,
    /// By item key (`file:bundle.zip`, `eager`, `package:pydantic-core`): all three sizes, so a
    /// baseline serves a budget in any compression.
    pub items: BTreeMap<String, Sizes>,
}

impl Baseline {
    pub fn of(report: &BudgetReport) -> Baseline {
        Baseline {
            schema: BASELINE_SCHEMA.to_string(),
            items: report
                .items
                .iter()
                .map(|item| (item.key(), item.sizes))
                .collect(),
        }
    }

    pub fn read(path: &Path) -> Result<Baseline, BudgetError> {
        let bytes = std::fs::read(path).map_err(|source| BudgetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| BudgetError::BadBaseline {
            path: path.to_path_buf(),
            reason,
        };
        let baseline: Baseline =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON of one ({e})")))?;
        if baseline.schema != BASELINE_SCHEMA {
            return Err(bad(format!(
                "schema {:?}, expected {BASELINE_SCHEMA:?} (write it again with --save-baseline)",
                baseline.schema
            )));
        }
        Ok(baseline)
    }

    pub fn sizes(&self, key: &str) -> Option<Sizes> {
        self.items.get(key).copied()
    }
}
