//! Where each field of a YAML manifest is written: an index from field path to line and
//! column, per document, so that every problem found in a manifest can say where it is.
//!
//! The values themselves are parsed by serde-saphyr; this walks the same text once more with
//! the YAML event parser underneath it (granit-parser) and records the position of every
//! mapping key and sequence item. Paths use the notation of [`super::valid::FieldError`]:
//! `spec.rollout.canary.steps[1].weight`, `spec.tags[team]`.

use std::collections::HashMap;

use granit_parser::{Event, Parser};

/// A position in a manifest (1-based line and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Positions of one document's fields.
#[derive(Clone, Debug, Default)]
pub struct Positions {
    by_path: HashMap<Vec<String>, Location>,
}

impl Positions {
    /// The position of `path`, or of its nearest ancestor written in the document (a
    /// missing required field is reported where its parent is).
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut segments = split(path);
        loop {
            if let Some(l) = self.by_path.get(&segments) {
                return Some(*l);
            }
            segments.pop()?;
        }
    }
}

/// `a.b[c].d[0]` → `["a", "b", "c", "d", "0"]`.
fn split(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' if depth == 0 => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                depth = 1;
            }
            ']' if depth == 1 => {
                out.push(std::mem::take(&mut current));
                depth = 0;
            }
            '.' if depth == 0 => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

enum Frame {
    /// A mapping: the key whose value comes next, if a key was read.
    Map(Option<String>),
    /// A sequence: the index of the next item.
    Seq(usize),
}

/// Positions of every document of `text`, in order; documents whose root is empty are
/// skipped, as the value parser skips them. A syntax error ends the index early (the value
/// parser reports it).
pub fn index(text: &str) -> Vec<Positions> {
    let mut docs = Vec::new();
    let mut current: Option<(Positions, bool)> = None;
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let at = Location {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        match event {
            Event::DocumentStart(..) => {
                current = Some((Positions::default(), false));
                stack.clear();
                path.clear();
            }
            Event::DocumentEnd => {
                if let Some((positions, has_root)) = current.take()
                    && has_root
                {
                    docs.push(positions);
                }
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map(key @ None)) = stack.last_mut() {
                    // A mapping key: the entry's position is where its key is written.
                    *key = Some(value.to_string());
                    path.push(value.to_string());
                    if let Some((p, _)) = current.as_mut() {
                        p.by_path.insert(path.clone(), at);
                    }
                    path.pop();
                    continue;
                }
                node(&mut current, &mut stack, &mut path, at, value.is_empty());
                leave(&mut stack, &mut path);
            }
            Event::Alias(_) => {
                node(&mut current, &mut stack, &mut path, at, false);
                leave(&mut stack, &mut path);
            }
            Event::MappingStart(..) => {
                node(&mut current, &mut stack, &mut path, at, false);
                stack.push(Frame::Map(None));
            }
            Event::SequenceStart(..) => {
                node(&mut current, &mut stack, &mut path, at, false);
                stack.push(Frame::Seq(0));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                leave(&mut stack, &mut path);
            }
            _ => {}
        }
    }
    docs
}

/// A value node starts: enter its path (a key's value or a sequence item).
fn node(
    current: &mut Option<(Positions, bool)>,
    stack: &mut [Frame],
    path: &mut Vec<String>,
    at: Location,
    empty_scalar: bool,
) {
    match stack.last() {
        Some(Frame::Map(Some(key))) => path.push(key.clone()),
        Some(Frame::Seq(i)) => {
            path.push(i.to_string());
            if let Some((p, _)) = current.as_mut() {
                p.by_path.insert(path.clone(), at);
            }
        }
        _ => {
            if let Some((_, has_root)) = current.as_mut() {
                *has_root = !empty_scalar;
            }
        }
    }
}

/// A value node ended: leave its path and move its parent on.
fn leave(stack: &mut [Frame], path: &mut Vec<String>) {
    match stack.last_mut() {
        Some(Frame::Map(key)) => {
            // A key was read: its value ended, so the next scalar is a key again.
            let had_key = key.take().is_some();
            if had_key {
                path.pop();
            }
        }
        Some(Frame::Seq(i)) => {
            *i += 1;
            path.pop();
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
apiVersion: v1
kind: ModelDeployment
spec:
  rollout:
    canary:
      steps:
        - {weight: 10, bake: 10m}
        - weight: 5
          bake: 20m
  tags: {team: growth}
---
kind: Other
";

    #[test]
    fn fields_keys_and_items_have_their_line_and_column() {
        let docs = index(TEXT);
        assert_eq!(docs.len(), 2);
        let at = |p: &str| docs[0].locate(p).map(|l| l.to_string());
        assert_eq!(
            at("spec.rollout.canary.steps[1].weight").as_deref(),
            Some("8:11")
        );
        assert_eq!(
            at("spec.rollout.canary.steps[0].bake").as_deref(),
            Some("7:24")
        );
        assert_eq!(at("spec.tags[team]").as_deref(), Some("10:10"));
        assert_eq!(
            at("spec.rollout.canary.steps[1].missing").as_deref(),
            Some("8:11")
        );
        assert_eq!(docs[1].locate("kind").map(|l| l.line), Some(12));
    }
}
