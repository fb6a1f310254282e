//! The `.pyc` reducer: byte-code compiled by the runtime's own interpreter inside Pyodide (so the
//! magic number and format match), cached by runtime, install path and source digest.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use pyodide_pack_env::write_atomically;
use pyodide_pack_env::{hex, CacheRoot, Environment};
use pyodide_pack_trace::{install_harness, run_node_script};
use sha2::{Digest, Sha256};

use crate::PackError;

/// One source to compile: its bytes and the path tracebacks should name (its install path).
pub(crate) struct PycJob {
    pub source: Vec<u8>,
    pub dfile: String,
}

/// What compiling produced: one result per job (`None`: the interpreter rejected the source, which
/// ships as `.py`), and a warning for each rejection.
pub(crate) struct Compiled {
    pub pycs: Vec<Option<Vec<u8>>>,
    pub warnings: Vec<String>,
}

/// Compiles every job, reusing cached byte-code.
pub(crate) fn compile_pyc(
    env: &Environment,
    cache: &CacheRoot,
    jobs: &[PycJob],
    timeout: Duration,
) -> Result<Compiled, PackError> {
    let runtime_key = format!(
        "{}|{}|{}",
        env.runtime.python, env.runtime.version, env.runtime.abi
    );
    let key = |job: &PycJob| {
        let mut hasher = Sha256::new();
        hasher.update(runtime_key.as_bytes());
        hasher.update(job.dfile.as_bytes());
        hasher.update(&job.source);
        hex(&hasher.finalize())
    };
    let cache_dir = cache.root().join("pyc");
    let keys: Vec<String> = jobs.iter().map(key).collect();
    let mut results: Vec<Option<Vec<u8>>> = keys
        .iter()
        .map(|k| std::fs::read(cache_dir.join(&k[..2]).join(format!("{k}.pyc"))).ok())
        .collect();
    let missing: Vec<usize> = (0..jobs.len()).filter(|i| results[*i].is_none()).collect();
    let mut warnings = Vec::new();
    if missing.is_empty() {
        return Ok(Compiled {
            pycs: results,
            warnings,
        });
    }

    let work = tempfile::tempdir().map_err(|e| PackError::io(std::env::temp_dir(), e))?;
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).map_err(|e| PackError::io(&out_dir, e))?;
    let mut items = Vec::new();
    for (n, &i) in missing.iter().enumerate() {
        let source = work.path().join(format!("{n}.py"));
        std::fs::write(&source, &jobs[i].source).map_err(|e| PackError::io(&source, e))?;
        items.push((source, jobs[i].dfile.clone()));
    }
    let script = install_harness(cache)?.join("compile_pyc.mjs");
    let spec = serde_json::json!({
        "runtime": env.runtime.dir,
        "items": items,
        "out_dir": out_dir,
    });
    let outcome = run_node_script(
        &script,
        spec,
        timeout,
        &PathBuf::from("compile_pyc.mjs"),
        "compile .pyc",
    )?;
    let Some(record) = outcome.record.filter(|_| outcome.success) else {
        return Err(PackError::Compile {
            message: format!("the compiler run failed: {}", outcome.stderr_tail),
        });
    };
    #[derive(serde::Deserialize)]
    struct CompileRecord {
        errors: HashMap<String, String>,
    }
    let record: CompileRecord = serde_json::from_str(&record).map_err(|e| PackError::Compile {
        message: format!("unreadable result: {e}"),
    })?;
    for (n, &i) in missing.iter().enumerate() {
        if let Some(message) = record.errors.get(&n.to_string()) {
            warnings.push(format!(
                "{}: does not compile ({message}); shipped as .py",
                jobs[i].dfile
            ));
            continue;
        }
        let compiled = out_dir.join(format!("{n}.pyc"));
        let bytes = std::fs::read(&compiled).map_err(|e| PackError::io(&compiled, e))?;
        let k = &keys[i];
        // A cache that cannot be written only costs time on the next pack.
        let _ = write_atomically(&cache_dir.join(&k[..2]).join(format!("{k}.pyc")), &bytes);
        results[i] = Some(bytes);
    }
    Ok(Compiled {
        pycs: results,
        warnings,
    })
}
