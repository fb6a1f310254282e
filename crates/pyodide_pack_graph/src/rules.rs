//! The user's include and exclude globs.
//!
//! A glob matches a file's path inside its archive: `certifi/cacert.pem` in a wheel,
//! `json/decoder.py` in the stdlib zip, `pkg/data.json` in the app's folder. `*` stays inside one
//! folder, `**` crosses folders.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use pyodide_pack_env::{Environment, FileRef};

/// One glob and where it was written (`--include`, or a `pyproject.toml`).
#[derive(Debug, Clone)]
pub struct RuleGlob {
    pub pattern: String,
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: bad glob {pattern:?}: {message}")]
pub struct RuleError {
    pub pattern: String,
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Clone)]
struct CompiledGlobs {
    globs: Vec<RuleGlob>,
    set: GlobSet,
}

impl CompiledGlobs {
    fn new(globs: Vec<RuleGlob>) -> Result<Self, RuleError> {
        let mut builder = GlobSetBuilder::new();
        for glob in &globs {
            builder.add(compile(glob)?);
        }
        let set = builder.build().map_err(|e| RuleError {
            pattern: String::new(),
            source_name: "globs".into(),
            message: e.to_string(),
        })?;
        Ok(CompiledGlobs { globs, set })
    }

    /// The first glob that matches `path`.
    fn first_match(&self, path: &str) -> Option<&RuleGlob> {
        self.set
            .matches(path)
            .into_iter()
            .min()
            .map(|i| &self.globs[i])
    }
}

fn compile(glob: &RuleGlob) -> Result<Glob, RuleError> {
    GlobBuilder::new(&glob.pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| RuleError {
            pattern: glob.pattern.clone(),
            source_name: glob.source.clone(),
            message: e.kind().to_string(),
        })
}

/// Include and exclude globs, compiled.
#[derive(Debug, Clone)]
pub struct UserRules {
    include: CompiledGlobs,
    exclude: CompiledGlobs,
    /// Files forced into the eager tier (and kept, like an include).
    eager: CompiledGlobs,
}

impl Default for UserRules {
    fn default() -> Self {
        UserRules::new(Vec::new(), Vec::new()).expect("no globs compile")
    }
}

impl UserRules {
    pub fn new(include: Vec<RuleGlob>, exclude: Vec<RuleGlob>) -> Result<Self, RuleError> {
        Ok(UserRules {
            include: CompiledGlobs::new(include)?,
            exclude: CompiledGlobs::new(exclude)?,
            eager: CompiledGlobs::new(Vec::new())?,
        })
    }

    /// Adds the `--eager` globs.
    pub fn with_eager(mut self, eager: Vec<RuleGlob>) -> Result<Self, RuleError> {
        self.eager = CompiledGlobs::new(eager)?;
        Ok(self)
    }

    /// An include glob or an eager glob (which keeps the file too).
    pub fn included(&self, env: &Environment, file: FileRef) -> Option<&RuleGlob> {
        let path = &env.entry(file).path;
        self.include
            .first_match(path)
            .or_else(|| self.eager.first_match(path))
    }

    pub fn forced_eager(&self, env: &Environment, file: FileRef) -> Option<&RuleGlob> {
        self.eager.first_match(&env.entry(file).path)
    }

    pub fn excluded(&self, env: &Environment, file: FileRef) -> Option<&RuleGlob> {
        self.exclude.first_match(&env.entry(file).path)
    }

    /// Globs that matched no file of the environment: most likely a typo, worth a warning.
    pub fn unmatched(&self, env: &Environment) -> Vec<&RuleGlob> {
        let sets = [&self.include, &self.exclude, &self.eager];
        let total: usize = sets.iter().map(|s| s.globs.len()).sum();
        let mut hit = vec![false; total];
        for file in env.files() {
            let path = &env.entry(file).path;
            let mut offset = 0;
            for set in sets {
                for i in set.set.matches(path) {
                    hit[offset + i] = true;
                }
                offset += set.globs.len();
            }
        }
        sets.iter()
            .flat_map(|s| s.globs.iter())
            .zip(hit)
            .filter(|(_, hit)| !hit)
            .map(|(g, _)| g)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> RuleGlob {
        RuleGlob {
            pattern: p.into(),
            source: "--include".into(),
        }
    }

    #[test]
    fn star_stays_in_one_folder() {
        let globs =
            CompiledGlobs::new(vec![glob("pytz/zoneinfo/*"), glob("pkg/**/*.json")]).unwrap();
        assert!(globs.first_match("pytz/zoneinfo/UTC").is_some());
        assert!(globs.first_match("pytz/zoneinfo/Europe/Paris").is_none());
        assert!(globs.first_match("pkg/a/b/c.json").is_some());
        assert!(globs.first_match("pkg/c.json").is_some());
    }

    #[test]
    fn a_bad_glob_names_itself_and_its_source() {
        let error = CompiledGlobs::new(vec![glob("pkg/[a")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--include: bad glob \"pkg/[a\""),
            "{error}"
        );
    }
}
