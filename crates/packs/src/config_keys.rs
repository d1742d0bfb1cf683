//! Config files our templates render inside objects (frpc's TOML): parsed with a real parser, and
//! every key looked up in the pack's list of the keys the program accepts. An unknown key is named
//! with its line and the nearest known key.

use std::collections::BTreeSet;

use toml::de::{DeTable, DeValue};

use crate::manifest::ConfigFormat;

/// The keys a program accepts, as dotted paths (`transport.tls.enable`); `[]` marks an array of
/// tables (`proxies[].localPort`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyList {
    keys: BTreeSet<String>,
}

impl KeyList {
    /// One path a line; blank lines and `#` comments are ignored.
    pub fn parse(text: &str) -> KeyList {
        KeyList {
            keys: text
                .lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    pub fn from_keys(keys: impl IntoIterator<Item = String>) -> KeyList {
        KeyList {
            keys: keys.into_iter().collect(),
        }
    }

    pub fn keys(&self) -> &BTreeSet<String> {
        &self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// The known key most like `key` among those in the same table, when one is close enough to
    /// be a likely misspelling.
    pub fn nearest(&self, key: &str) -> Option<&str> {
        let (parent, leaf) = key.rsplit_once('.').unwrap_or(("", key));
        self.keys
            .iter()
            .filter_map(|known| {
                let (known_parent, known_leaf) = known.rsplit_once('.').unwrap_or(("", known));
                (known_parent == parent).then(|| {
                    let score =
                        strsim::jaro_winkler(&leaf.to_lowercase(), &known_leaf.to_lowercase());
                    (score, known)
                })
            })
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, known)| known.as_str())
    }
}

/// A key set in a config file: its path and the line (from 1) it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("line {line}: not valid TOML: {message}")]
    Syntax { line: usize, message: String },
    #[error(
        "line {line}: `{key}` is not a key of {reference}{}",
        match suggestion {
            Some(known) => format!("; did you mean `{known}`?"),
            None => "; remove it or use a key the reference lists".to_string(),
        }
    )]
    UnknownKey {
        key: String,
        line: usize,
        reference: String,
        suggestion: Option<String>,
    },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Syntax { .. } => "config_invalid",
            ConfigError::UnknownKey { .. } => "config_key_unknown",
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Every leaf key of a TOML document (a key whose value is not a table or an array of tables;
/// an empty table counts as a leaf), in the order of their lines.
pub fn toml_keys(text: &str) -> Result<Vec<KeyUse>, ConfigError> {
    let document = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        line: e.span().map_or(1, |span| line_of(text, span.start)),
        message: e.message().to_string(),
    })?;
    let mut out = Vec::new();
    walk_table(text, document.get_ref(), "", &mut out);
    out.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(text: &str, table: &DeTable<'_>, prefix: &str, out: &mut Vec<KeyUse>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        let line = line_of(text, key.span().start);
        match value.get_ref() {
            DeValue::Table(inner) if !inner.is_empty() => walk_table(text, inner, &path, out),
            DeValue::Array(items)
                if !items.is_empty()
                    && items
                        .iter()
                        .all(|item| matches!(item.get_ref(), DeValue::Table(_))) =>
            {
                let path = format!("{path}[]");
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        walk_table(text, inner, &path, out);
                    }
                }
            }
            _ => out.push(KeyUse { path, line }),
        }
    }
}

/// Parse `text` as `format` and check that every key is in `known`; `reference` names where the
/// list comes from.
pub fn check(
    text: &str,
    format: ConfigFormat,
    known: &KeyList,
    reference: &str,
) -> Result<(), ConfigError> {
    let keys = match format {
        ConfigFormat::Toml => toml_keys(text)?,
    };
    match keys.into_iter().find(|used| !known.contains(&used.path)) {
        Some(unknown) => Err(ConfigError::UnknownKey {
            suggestion: known.nearest(&unknown.path).map(str::to_string),
            key: unknown.path,
            line: unknown.line,
            reference: reference.to_string(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "serverAddr = \"proxy.example.com\"\nauth.token = \"x\"\n\n[[proxies]]\nname = \"a\"\ncustomDomains = [\"a.example.com\"]\nhealthCheck.httpHeaders = [{ name = \"x\", value = \"y\" }]\n[proxies.plugin]\ntype = \"https2https\"\n\n[[proxies]]\nname = \"b\"\n";

    #[test]
    fn keys_are_dotted_paths_with_arrays_of_tables_marked() {
        let keys = toml_keys(CONFIG).unwrap();
        let paths: Vec<(&str, usize)> = keys.iter().map(|k| (k.path.as_str(), k.line)).collect();
        assert_eq!(
            paths,
            [
                ("serverAddr", 1),
                ("auth.token", 2),
                ("proxies[].name", 5),
                ("proxies[].customDomains", 6),
                ("proxies[].healthCheck.httpHeaders[].name", 7),
                ("proxies[].healthCheck.httpHeaders[].value", 7),
                ("proxies[].plugin.type", 9),
                ("proxies[].name", 12),
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_the_nearest_known_one() {
        let known = KeyList::parse(
            "# comment\nserverAddr\nauth.token\nproxies[].name\nproxies[].customDomains\n\
             proxies[].healthCheck.httpHeaders[].name\nproxies[].healthCheck.httpHeaders[].value\n",
        );
        let error = check(CONFIG, ConfigFormat::Toml, &known, "the example").unwrap_err();
        assert_eq!(error.code(), "config_key_unknown");
        assert_eq!(
            error.to_string(),
            "line 9: `proxies[].plugin.type` is not a key of the example; remove it or use a key the reference lists"
        );
        let typo = check(
            "serverAdress = \"x\"\n",
            ConfigFormat::Toml,
            &known,
            "the example",
        )
        .unwrap_err();
        assert_eq!(
            typo.to_string(),
            "line 1: `serverAdress` is not a key of the example; did you mean `serverAddr`?"
        );
    }

    #[test]
    fn invalid_toml_is_an_error_with_its_line() {
        let error = check(
            "serverAddr = \"x\"\nserverPort = = 7000\n",
            ConfigFormat::Toml,
            &KeyList::default(),
            "the example",
        )
        .unwrap_err();
        assert_eq!(error.code(), "config_invalid");
        assert!(
            error.to_string().starts_with("line 2: not valid TOML"),
            "{error}"
        );
    }
}
