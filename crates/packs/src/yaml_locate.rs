//! Maps each path of a YAML document (`packs[2].values.server`) to its 1-based line, for error messages.

use std::collections::HashMap;

// serde-saphyr's parser (kube brings it): events with source spans.
use granit_parser::{Event, Parser, Span, SpannedEventReceiver};

/// Lines of every key and value in the first document of a YAML text.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Collector {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
    documents: usize,
}

/// Join a parent path and a key the way error paths are written.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl Collector {
    /// The path of the node that starts now, consuming the pending key or sequence slot.
    fn next_path(&mut self) -> String {
        match self.stack.last_mut() {
            None => String::new(),
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => join_key(path, &k),
                None => join_key(path, "?"),
            },
            Some(Frame::Seq { path, index }) => {
                let p = join_index(path, *index);
                *index += 1;
                p
            }
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }
}

impl<'input> SpannedEventReceiver<'input> for Collector {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.documents > 1 {
            return;
        }
        let line = span.start.line();
        match event {
            Event::DocumentStart(..) => self.documents += 1,
            Event::Scalar(text, ..) if self.expecting_key() => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    self.lines.entry(join_key(path, &text)).or_insert(line);
                    *key = Some(text.into_owned());
                }
            }
            Event::Scalar(..) | Event::Alias(..) | Event::UnresolvedAlias(..) => {
                let path = self.next_path();
                self.lines.entry(path).or_insert(line);
            }
            Event::MappingStart(..) => {
                let path = if self.expecting_key() {
                    "?".to_string()
                } else {
                    self.next_path()
                };
                self.lines.entry(path.clone()).or_insert(line);
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = if self.expecting_key() {
                    "?".to_string()
                } else {
                    self.next_path()
                };
                self.lines.entry(path.clone()).or_insert(line);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

impl LineIndex {
    /// Index a YAML text. Unparseable text gives an empty index (the parse error carries its own line).
    pub fn new(text: &str) -> LineIndex {
        let mut collector = Collector::default();
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut collector, false);
        LineIndex {
            lines: collector.lines,
        }
    }

    /// The line of `path`, or of its nearest ancestor that exists in the text.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut current = path.to_string();
        loop {
            if let Some(line) = self.lines.get(&current) {
                return Some(*line);
            }
            let cut = current.rfind(['.', '['])?;
            current.truncate(cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
apiVersion: vmdeck.io/v1
packs:
  - name: kubevirt
    values:
      server: {address: x, port: 7000}
  - name: multus
    gates:
      Snapshot: on
---
other: 1
";

    #[test]
    fn keys_values_and_items_have_their_one_based_lines() {
        let index = LineIndex::new(TEXT);
        assert_eq!(index.line_of("apiVersion"), Some(1));
        assert_eq!(index.line_of("packs"), Some(2));
        assert_eq!(index.line_of("packs[0]"), Some(3));
        assert_eq!(index.line_of("packs[0].name"), Some(3));
        assert_eq!(index.line_of("packs[0].values.server.port"), Some(5));
        assert_eq!(index.line_of("packs[1].gates.Snapshot"), Some(8));
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor_and_later_documents_are_ignored() {
        let index = LineIndex::new(TEXT);
        assert_eq!(index.line_of("packs[1].values.server"), Some(6));
        assert_eq!(index.line_of("packs[7]"), Some(2));
        assert_eq!(index.line_of("other"), None);
        assert_eq!(LineIndex::new("a: [unclosed").line_of("b"), None);
    }
}
