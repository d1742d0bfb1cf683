//! Maps each path of a YAML document (`packs[2].values.server`) to its 1-based line, for error messages.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

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

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.documents > 1 {
            return;
        }
        let line = mark.line();
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(text, ..) if self.expecting_key() => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    self.lines.entry(join_key(path, &text)).or_insert(line);
                    *key = Some(text);
                }
            }
            Event::Scalar(..) | Event::Alias(..) => {
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
