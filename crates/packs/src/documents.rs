//! Splits a multi-document YAML file at its `---` lines without losing a byte: each document keeps its exact
//! original text, and concatenating separators and texts gives the file back.

/// One document of a multi-document file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    /// The separator line before it, with its line ending (`---\n`); empty for text before the first separator.
    pub separator: String,
    /// The document text between separators, byte for byte.
    pub text: String,
}

impl RawDocument {
    /// True when the document holds only blank lines and comments.
    pub fn is_blank(&self) -> bool {
        self.text.lines().all(|line| {
            let trimmed = line.trim();
            trimmed.is_empty() || trimmed.starts_with('#')
        })
    }
}

fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return false;
    };
    rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n'])
}

/// Split at lines starting with `---` (column 0).
pub fn split(text: &str) -> Vec<RawDocument> {
    let mut documents = vec![RawDocument {
        separator: String::new(),
        text: String::new(),
    }];
    for line in text.split_inclusive('\n') {
        if is_separator(line) {
            documents.push(RawDocument {
                separator: line.to_string(),
                text: String::new(),
            });
        } else if let Some(last) = documents.last_mut() {
            last.text.push_str(line);
        }
    }
    documents
}

/// The inverse of [`split`].
pub fn join(documents: &[RawDocument]) -> String {
    documents
        .iter()
        .flat_map(|d| [d.separator.as_str(), d.text.as_str()])
        .collect()
}
