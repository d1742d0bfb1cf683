//! Version spellings: KubeVirt and CDI tag releases `v1.8.4`; packs list `1.8.4`. Both name the same version.

/// `version` without an upstream tag's leading `v` (`v1.8.4` -> `1.8.4`); other text is returned as it is.
pub fn bare(version: &str) -> &str {
    let version = version.trim();
    match version.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Whether two spellings name the same version (`v1.8.4` and `1.8.4` do; `1.8` and `1.8.4` do not).
pub fn same(a: &str, b: &str) -> bool {
    bare(a) == bare(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_numbers_name_the_same_version() {
        assert!(same("v1.8.4", "1.8.4"));
        assert!(same("1.8.4", "V1.8.4"));
        assert!(same(" v1.8.4", "1.8.4"));
        assert!(!same("1.8", "1.8.4"));
        assert!(!same("vv1.8.4", "1.8.4"));
        assert_eq!(bare("v"), "v");
        assert_eq!(bare("version"), "version");
        assert_eq!(bare(""), "");
    }
}
