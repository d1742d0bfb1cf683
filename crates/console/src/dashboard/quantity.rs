//! Kubernetes quantities (`10Gi`, `500M`, `1.5Ti`, `2e9`) parsed strictly into whole bytes, the
//! way kube-apiserver reads them: a number, then at most one suffix; anything else is refused.

use std::fmt;

/// Why a text is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("empty")]
    Empty,
    #[error("{text:?} is not a Kubernetes quantity (a number then a unit such as Gi, Mi or G)")]
    Malformed { text: String },
    #[error(
        "{text:?} has an unknown unit {suffix:?} (use Ki, Mi, Gi, Ti, Pi, Ei or k, M, G, T, P, E)"
    )]
    UnknownUnit { text: String, suffix: String },
    #[error("{text:?} is negative")]
    Negative { text: String },
    #[error("{text:?} is too large")]
    TooLarge { text: String },
}

/// A quantity of bytes (rounded up to a whole byte, as Kubernetes does for storage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u128);

impl fmt::Display for Bytes {
    /// The largest binary unit that divides the value exactly (`10Gi`, `1536Mi`, `1000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u32); 6] = [
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ];
        for (unit, shift) in UNITS {
            let size = 1u128 << shift;
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}", self.0)
    }
}

/// The multiplier of a suffix as (numerator, denominator): binary and decimal SI units.
fn suffix_factor(suffix: &str) -> Option<(u128, u128)> {
    Some(match suffix {
        "" => (1, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        _ => return None,
    })
}

/// `e3`, `E-2`, `e+10`: the exponent's digits with their sign, when `rest` is one.
fn exponent_of(rest: &str) -> Option<&str> {
    let exponent = rest.strip_prefix(['e', 'E'])?;
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(exponent)
}

/// Parse `text` as a quantity of bytes.
pub fn parse_bytes(text: &str) -> Result<Bytes, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let malformed = || QuantityError::Malformed {
        text: text.to_string(),
    };
    let too_large = || QuantityError::TooLarge {
        text: text.to_string(),
    };
    let (negative, unsigned) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_end = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, rest) = unsigned.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(malformed());
    }
    // An exponent (`e3`, `E-2`) or a unit suffix, never both.
    let (exponent, suffix) = match exponent_of(rest) {
        Some(exponent) => (exponent.parse::<i32>().map_err(|_| too_large())?, ""),
        None => (0, rest),
    };
    let Some((mut numerator, mut denominator)) = suffix_factor(suffix) else {
        if suffix.chars().any(char::is_whitespace)
            || !suffix.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(malformed());
        }
        return Err(QuantityError::UnknownUnit {
            text: text.to_string(),
            suffix: suffix.to_string(),
        });
    };
    if negative && number.bytes().any(|b| b != b'0' && b != b'.') {
        return Err(QuantityError::Negative {
            text: text.to_string(),
        });
    }
    let ten_to = |power: u32| 10u128.checked_pow(power).ok_or_else(too_large);
    match exponent {
        e if e >= 0 => {
            numerator = numerator
                .checked_mul(ten_to(e as u32)?)
                .ok_or_else(too_large)?
        }
        e => {
            denominator = denominator
                .checked_mul(ten_to(e.unsigned_abs())?)
                .ok_or_else(too_large)?
        }
    }
    let digits = format!("{whole}{fraction}");
    let mantissa: u128 = digits.parse().map_err(|_| too_large())?;
    let scale = ten_to(u32::try_from(fraction.len()).map_err(|_| too_large())?)?;
    let top = mantissa.checked_mul(numerator).ok_or_else(too_large)?;
    let bottom = denominator.checked_mul(scale).ok_or_else(too_large)?;
    Ok(Bytes(top.div_ceil(bottom)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_quantities_in_bytes() {
        let ok = |t: &str| parse_bytes(t).unwrap().0;
        assert_eq!(ok("10Gi"), 10 << 30);
        assert_eq!(ok("1.5Gi"), 3 << 29);
        assert_eq!(ok("500M"), 500_000_000);
        assert_eq!(ok("2k"), 2000);
        assert_eq!(ok("1024"), 1024);
        assert_eq!(ok("2e9"), 2_000_000_000);
        assert_eq!(ok("5E-1"), 1, "half a byte rounds up");
        assert_eq!(ok("+1Ki"), 1024);
        assert_eq!(ok("0.5"), 1);
        assert_eq!(ok(".5Ki"), 512);
        assert_eq!(ok("1500m"), 2);
        assert_eq!(ok("1E"), 1_000_000_000_000_000_000, "E alone is exa");
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(matches!(
            parse_bytes("10 gigs"),
            Err(QuantityError::Malformed { .. })
        ));
        assert!(matches!(
            parse_bytes("10gigs"),
            Err(QuantityError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_bytes("10GB"),
            Err(QuantityError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_bytes("10gi"),
            Err(QuantityError::UnknownUnit { .. })
        ));
        assert_eq!(parse_bytes(""), Err(QuantityError::Empty));
        for bad in [
            "Gi", ".", "1..2", "1.2.3Gi", " 10Gi", "10Gi ", "1e", "1e+", "--1", "1Gi2",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse_bytes("-1Gi"),
            Err(QuantityError::Negative { .. })
        ));
        assert!(matches!(
            parse_bytes("1e99"),
            Err(QuantityError::TooLarge { .. })
        ));
    }

    #[test]
    fn bytes_print_in_the_largest_exact_unit() {
        assert_eq!(Bytes(10 << 30).to_string(), "10Gi");
        assert_eq!(Bytes(1536 << 20).to_string(), "1536Mi");
        assert_eq!(Bytes(1000).to_string(), "1000");
    }
}
