//! The rules directory (docs/rules.md): calendars, SLA policies, departments, routing rules and support
//! contracts that admins edit. Every `*.toml` file is read in file-name order and validated as a
//! whole; a mistake is refused with file:line and the cause, so that a bad edit never replaces a
//! working set (the caller keeps the old [`Rules`] when [`Rules::load`] fails).
//!
//! This module owns the policy's shape and its validation; routing a message lives in
//! [`crate::route`]. It must never touch the store or the network.

mod calendar;
mod ics;
mod model;

pub use calendar::*;
pub use model::*;

/// The live rule set, shared by the daemon's tasks; replaced whole on reload.
pub type SharedRules = std::sync::Arc<std::sync::RwLock<std::sync::Arc<Rules>>>;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{line_of, toml_error, ConfigError};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRulesFile {
    #[serde(default)]
    calendar: Vec<Spanned<RawCalendar>>,
    #[serde(default)]
    sla: Vec<Spanned<RawSla>>,
    #[serde(default)]
    department: Vec<Spanned<RawDepartment>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    contract: Vec<Spanned<RawContract>>,
    /// Extra reply / forward prefixes to strip from subjects, e.g. ["Válasz", "Odpověď"].
    #[serde(default)]
    subject_prefixes: Vec<String>,
}

/// Where a definition sits, for messages naming both places of a duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

impl Rules {
    /// Reads every `*.toml` in `dir`, in file-name order, and validates the whole set.
    pub fn load(dir: &Path) -> Result<Rules, ConfigError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ConfigError {
            file: dir.to_path_buf(),
            line: None,
            message: format!("cannot read rules directory: {e}"),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut sources = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| ConfigError {
                file: file.clone(),
                line: None,
                message: format!("cannot read: {e}"),
            })?;
            sources.push((file, text));
        }
        Rules::from_sources(&sources, dir.join("templates"))
    }

    /// Validates rule files given as (path, text) pairs, in order. Files they name (a calendar's
    /// `holidays_ics`) are read relative to the folder of the path that names them.
    pub fn from_sources(sources: &[(PathBuf, String)], templates_dir: PathBuf) -> Result<Rules, ConfigError> {
        let mut builder = Builder::default();
        for (file, text) in sources {
            let raw: RawRulesFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
            builder.add(file, text, raw)?;
        }
        builder.finish(templates_dir)
    }
}

#[derive(Default)]
struct Builder {
    places: HashMap<(&'static str, String), Place>,
    calendars: Vec<(Calendar, Place)>,
    slas: Vec<(RawSla, Place, Spanned<String>)>,
    departments: Vec<(RawDepartment, Place)>,
    rules: Vec<(RawRule, Place)>,
    contracts: Vec<Contract>,
    subject_prefixes: Vec<String>,
    warnings: Vec<String>,
}

impl Builder {
    fn define(&mut self, kind: &'static str, name: &str, place: &Place) -> Result<(), ConfigError> {
        if name.trim().is_empty() {
            return Err(place.error(format!("{kind} name must not be empty")));
        }
        if let Some(first) = self.places.get(&(kind, name.to_string())) {
            return Err(place.error(format!("{kind} {name:?} is defined twice (first at {first})")));
        }
        self.places.insert((kind, name.to_string()), place.clone());
        Ok(())
    }

    fn add(&mut self, file: &Path, text: &str, raw: RawRulesFile) -> Result<(), ConfigError> {
        let place = |span: std::ops::Range<usize>| Place { file: file.to_path_buf(), line: line_of(text, span.start) };
        for c in raw.calendar {
            let p = place(c.span());
            let c = c.into_inner();
            self.define("calendar", &c.name, &p)?;
            let dir = file.parent().unwrap_or(Path::new(""));
            let cal = Calendar::from_raw(c, dir, &mut self.warnings)
                .map_err(|e| e.span.map_or_else(|| p.clone(), place).error(e.message))?;
            self.calendars.push((cal, p));
        }
        for s in raw.sla {
            let p = place(s.span());
            let s = s.into_inner();
            self.define("sla", &s.name, &p)?;
            let cal = s.calendar.clone();
            self.slas.push((s, p, cal));
        }
        for d in raw.department {
            let p = place(d.span());
            let d = d.into_inner();
            self.define("department", &d.name, &p)?;
            self.departments.push((d, p));
        }
        for r in raw.rule {
            let p = place(r.span());
            let r = r.into_inner();
            self.define("rule", &r.name, &p)?;
            self.rules.push((r, p));
        }
        self.subject_prefixes.extend(raw.subject_prefixes);
        for c in raw.contract {
            let p = place(c.span());
            let c = c.into_inner();
            self.define("contract", &c.name, &p)?;
            self.contracts.push(Contract::from_raw(c).map_err(|m| p.error(m))?);
        }
        Ok(())
    }

    fn finish(self, templates_dir: PathBuf) -> Result<Rules, ConfigError> {
        let calendar_names: Vec<String> = self.calendars.iter().map(|(c, _)| c.name.clone()).collect();
        let mut slas = Vec::new();
        for (raw, place, cal) in self.slas {
            if !calendar_names.contains(cal.get_ref()) {
                return Err(place.error(format!("sla {:?}: calendar {:?} is not defined", raw.name, cal.get_ref())));
            }
            slas.push(SlaPolicy::from_raw(raw).map_err(|m| place.error(m))?);
        }
        let sla_names: Vec<String> = slas.iter().map(|s| s.name.clone()).collect();
        let mut departments = Vec::new();
        for (raw, place) in self.departments {
            if let Some(sla) = &raw.sla {
                if !sla_names.contains(sla) {
                    return Err(place.error(format!("department {:?}: sla {sla:?} is not defined", raw.name)));
                }
            }
            let name = raw.name.clone();
            departments.push(Department::from_raw(raw).map_err(|m| place.error(format!("department {name:?}: {m}")))?);
        }
        let department_names: Vec<String> = departments.iter().map(|d| d.name.clone()).collect();
        let mut rules = Vec::new();
        for (raw, place) in self.rules {
            if let Some(d) = &raw.set.department {
                if !department_names.contains(d) {
                    return Err(place.error(format!("rule {:?}: department {d:?} is not defined", raw.name)));
                }
            }
            rules.push(Rule::from_raw(raw));
        }
        let index = RuleIndex::build(&rules);
        Ok(Rules {
            calendars: self.calendars.into_iter().map(|(c, _)| c).collect(),
            slas,
            departments,
            rules,
            contracts: self.contracts,
            subject_prefixes: crate::parse::subject::PrefixStripper::new(&self.subject_prefixes),
            index,
            templates_dir,
            warnings: self.warnings,
        })
    }
}

impl Place {
    fn error(&self, message: String) -> ConfigError {
        ConfigError { file: self.file.clone(), line: Some(self.line), message }
    }
}

#[cfg(test)]
mod tests;
