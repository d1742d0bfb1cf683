//! Paste as keystrokes: which physical keys (KeyboardEvent.code names, which noVNC sends as QEMU
//! scancodes) a guest with a given keyboard layout needs pressed to type a text, worked out from
//! xkb-data by libxkbcommon exactly as the guest's keyboard driver would read them. A character
//! the layout has no key for is typed by its keysym alone (a plain RFB KeyEvent, which the VNC
//! server places with its own keymap, if it can) once the user has agreed to that.

use std::collections::HashMap;

use xkbcommon::xkb;

/// The guest layouts offered (XKB layout names) with their names for people.
pub const LAYOUTS: &[(&str, &str)] = &[
    ("us", "English (US)"),
    ("gb", "English (UK)"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("ch", "Swiss German"),
    ("se", "Swedish"),
    ("jp", "Japanese"),
];

/// Longest text planned at once.
pub const TEXT_LIMIT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("layout: {0:?} is not one of the offered guest layouts ({list})", list = offered())]
    UnknownLayout(String),
    #[error("layout {0}: xkb-data could not be compiled (is the xkb-data package installed?)")]
    Compile(String),
    #[error("text: {0} characters is over the {TEXT_LIMIT}-character limit; paste it in parts")]
    TextTooLong(usize),
}

impl KeymapError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownLayout(_) => "keymap_unknown_layout",
            Self::Compile(_) => "keymap_compile",
            Self::TextTooLong(_) => "keymap_text_too_long",
        }
    }
}

fn offered() -> String {
    LAYOUTS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One key event to send.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedKey {
    /// The physical key, as a KeyboardEvent.code name ("KeyQ", "AltRight"); empty for a
    /// keysym sent without a key (a character the layout has no key for).
    pub code: &'static str,
    /// What the layout gives that key in that state (sent along with the scancode).
    pub keysym: u32,
    pub down: bool,
}

/// The keys that type a text, and the characters the layout has no key for.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct KeystrokePlan {
    pub keys: Vec<PlannedKey>,
    /// Each character the layout cannot type, once, in order of appearance; `keys` types it by
    /// keysym alone (no physical key), which only a server that knows the keysym can place.
    pub untypable: Vec<char>,
    /// Control characters (other than `\n` and `\t`), which no key event types: left out of
    /// `keys`, each once.
    pub unsendable: Vec<char>,
}

/// Modifier states tried for a character, in order of preference.
const LEVELS: &[&[&str]] = &[&[], &["LFSH"], &["RALT"], &["RALT", "LFSH"]];

/// The physical keys a text may be typed with: XKB position names and their KeyboardEvent.code
/// names (positions, the same on every layout; modifiers are only LFSH and RALT).
const POSITIONS: &[(&str, &str)] = &[
    ("TLDE", "Backquote"),
    ("AE01", "Digit1"),
    ("AE02", "Digit2"),
    ("AE03", "Digit3"),
    ("AE04", "Digit4"),
    ("AE05", "Digit5"),
    ("AE06", "Digit6"),
    ("AE07", "Digit7"),
    ("AE08", "Digit8"),
    ("AE09", "Digit9"),
    ("AE10", "Digit0"),
    ("AE11", "Minus"),
    ("AE12", "Equal"),
    ("AE13", "IntlYen"),
    ("AD01", "KeyQ"),
    ("AD02", "KeyW"),
    ("AD03", "KeyE"),
    ("AD04", "KeyR"),
    ("AD05", "KeyT"),
    ("AD06", "KeyY"),
    ("AD07", "KeyU"),
    ("AD08", "KeyI"),
    ("AD09", "KeyO"),
    ("AD10", "KeyP"),
    ("AD11", "BracketLeft"),
    ("AD12", "BracketRight"),
    ("AC01", "KeyA"),
    ("AC02", "KeyS"),
    ("AC03", "KeyD"),
    ("AC04", "KeyF"),
    ("AC05", "KeyG"),
    ("AC06", "KeyH"),
    ("AC07", "KeyJ"),
    ("AC08", "KeyK"),
    ("AC09", "KeyL"),
    ("AC10", "Semicolon"),
    ("AC11", "Quote"),
    ("BKSL", "Backslash"),
    ("LSGT", "IntlBackslash"),
    ("AB01", "KeyZ"),
    ("AB02", "KeyX"),
    ("AB03", "KeyC"),
    ("AB04", "KeyV"),
    ("AB05", "KeyB"),
    ("AB06", "KeyN"),
    ("AB07", "KeyM"),
    ("AB08", "Comma"),
    ("AB09", "Period"),
    ("AB10", "Slash"),
    ("AB11", "IntlRo"),
    ("SPCE", "Space"),
    ("RTRN", "Enter"),
    ("TAB", "Tab"),
];

fn modifier_code(name: &str) -> &'static str {
    if name == "LFSH" {
        "ShiftLeft"
    } else {
        "AltRight"
    }
}

/// The keysym of each modifier key (by code) on the layout.
type ModifierKeysyms = HashMap<&'static str, u32>;

/// Where one character is on the layout.
#[derive(Debug, Clone, Copy)]
struct Place {
    level: usize,
    code: &'static str,
    keysym: u32,
}

/// The character a keysym types (Return and Tab as `\n` and `\t`; none for other controls).
fn typed_char(keysym: xkb::Keysym) -> Option<char> {
    match keysym.raw() {
        0xff0d => return Some('\n'),
        0xff09 => return Some('\t'),
        _ => {}
    }
    let text = xkb::keysym_to_utf8(keysym);
    let mut chars = text.trim_end_matches('\0').chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() => Some(c),
        _ => None,
    }
}

/// The layout's characters and the first key and level (in [`LEVELS`] order) typing each, with
/// the keysyms of its modifier keys.
fn places(layout: &str) -> Result<(HashMap<char, Place>, ModifierKeysyms), KeymapError> {
    if !LAYOUTS.iter().any(|(name, _)| *name == layout) {
        return Err(KeymapError::UnknownLayout(layout.to_string()));
    }
    let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
    let keymap = xkb::Keymap::new_from_names(
        &context,
        "evdev",
        "pc105",
        layout,
        "",
        None,
        xkb::KEYMAP_COMPILE_NO_FLAGS,
    )
    .ok_or_else(|| KeymapError::Compile(layout.to_string()))?;
    let mut found = HashMap::new();
    let mut modifier_syms = HashMap::new();
    for (level, modifiers) in LEVELS.iter().enumerate() {
        let mut state = xkb::State::new(&keymap);
        for name in *modifiers {
            let Some(key) = keymap.key_by_name(*name) else {
                continue;
            };
            modifier_syms
                .entry(modifier_code(name))
                .or_insert_with(|| state.key_get_one_sym(key).raw());
            state.update_key(key, xkb::KeyDirection::Down);
        }
        for &(name, code) in POSITIONS {
            let Some(key) = keymap.key_by_name(name) else {
                continue;
            };
            let keysym = state.key_get_one_sym(key);
            if let Some(c) = typed_char(keysym) {
                found.entry(c).or_insert(Place {
                    level,
                    code,
                    keysym: keysym.raw(),
                });
            }
        }
    }
    Ok((found, modifier_syms))
}

/// The key events that type `text` on a guest whose layout is `layout` (one of [`LAYOUTS`]):
/// each character pressed with the fewest modifiers that give it (none, Shift, AltGr,
/// AltGr+Shift), modifiers released after it; `\r\n` is one Enter. Characters the layout has
/// no key for are listed in `untypable` and pressed by keysym alone (code `""`); control
/// characters are listed in `unsendable` and left out.
pub fn plan_keystrokes(layout: &str, text: &str) -> Result<KeystrokePlan, KeymapError> {
    let length = text.chars().count();
    if length > TEXT_LIMIT {
        return Err(KeymapError::TextTooLong(length));
    }
    let (places, modifier_syms) = places(layout)?;
    let mut plan = KeystrokePlan::default();
    for c in text.replace("\r\n", "\n").chars() {
        let Some(place) = places.get(&c) else {
            let list = if c.is_control() {
                &mut plan.unsendable
            } else {
                let keysym = xkb::utf32_to_keysym(u32::from(c)).raw();
                for down in [true, false] {
                    plan.keys.push(PlannedKey {
                        code: "",
                        keysym,
                        down,
                    });
                }
                &mut plan.untypable
            };
            if !list.contains(&c) {
                list.push(c);
            }
            continue;
        };
        let modifiers: Vec<PlannedKey> = LEVELS[place.level]
            .iter()
            .map(|name| {
                let code = modifier_code(name);
                PlannedKey {
                    code,
                    keysym: modifier_syms.get(code).copied().unwrap_or(0),
                    down: true,
                }
            })
            .collect();
        plan.keys.extend(modifiers.iter().cloned());
        for down in [true, false] {
            plan.keys.push(PlannedKey {
                code: place.code,
                keysym: place.keysym,
                down,
            });
        }
        plan.keys.extend(
            modifiers
                .into_iter()
                .rev()
                .map(|m| PlannedKey { down: false, ..m }),
        );
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes pressed down, in order.
    fn pressed(plan: &KeystrokePlan) -> Vec<&'static str> {
        plan.keys
            .iter()
            .filter(|k| k.down)
            .map(|k| k.code)
            .collect()
    }

    #[test]
    fn german_uses_altgr_and_its_own_keys() {
        let plan = plan_keystrokes("de", "Grüße, Welt! @€ {[]}").unwrap();
        assert!(plan.untypable.is_empty(), "{:?}", plan.untypable);
        let downs = pressed(&plan);
        assert_eq!(&downs[..2], ["ShiftLeft", "KeyG"]);
        assert_eq!(downs[3], "BracketLeft", "ü");
        assert_eq!(downs[4], "Minus", "ß");
        let at = downs.iter().position(|c| *c == "KeyQ").unwrap();
        assert_eq!(downs[at - 1], "AltRight", "@ is AltGr+Q");
        assert_eq!(
            &downs[downs.len() - 8..],
            [
                "AltRight", "Digit7", "AltRight", "Digit8", "AltRight", "Digit9", "AltRight",
                "Digit0"
            ]
        );
        let altgr = plan.keys.iter().find(|k| k.code == "AltRight").unwrap();
        assert_eq!(altgr.keysym, 0xfe03, "AltGr is ISO_Level3_Shift");
        let z = plan_keystrokes("de", "zy").unwrap();
        assert_eq!(pressed(&z), ["KeyY", "KeyZ"], "Z and Y are swapped");
        let balanced = plan.keys.iter().filter(|k| k.down).count() * 2 == plan.keys.len();
        assert!(balanced, "every key pressed is released");
    }

    #[test]
    fn us_lists_what_it_has_no_key_for() {
        let plan = plan_keystrokes("us", "Grüße, Welt! @€ {[]}").unwrap();
        assert_eq!(plan.untypable, ['ü', 'ß', '€']);
        assert!(plan.unsendable.is_empty());
        let downs = pressed(&plan);
        assert_eq!(&downs[..4], ["ShiftLeft", "KeyG", "KeyR", ""]);
        assert!(!downs.contains(&"AltRight"));
        // ü, ß and € go by keysym alone, in place: Latin-1 as itself, € as EuroSign.
        let by_keysym: Vec<u32> = plan
            .keys
            .iter()
            .filter(|k| k.code.is_empty() && k.down)
            .map(|k| k.keysym)
            .collect();
        assert_eq!(by_keysym, [0xfc, 0xdf, 0x20ac]);
        assert_eq!(downs[4], "", "ß right after ü");
        assert_eq!(downs[5], "KeyE");
        let balanced = plan.keys.iter().filter(|k| k.down).count() * 2 == plan.keys.len();
        assert!(balanced, "every key pressed is released");
        let bell = plan_keystrokes("us", "a\u{7}b").unwrap();
        assert_eq!(bell.unsendable, ['\u{7}']);
        assert!(bell.untypable.is_empty());
        assert_eq!(pressed(&bell), ["KeyA", "KeyB"]);
        let line = plan_keystrokes("us", "a\r\nb\tc").unwrap();
        assert_eq!(pressed(&line), ["KeyA", "Enter", "KeyB", "Tab", "KeyC"]);
    }

    #[test]
    fn every_offered_layout_types_letters_and_digits() {
        for (layout, _) in LAYOUTS {
            let plan = plan_keystrokes(layout, "abc123 ").unwrap();
            assert!(plan.untypable.is_empty(), "{layout}: {:?}", plan.untypable);
        }
        let french = plan_keystrokes("fr", "a1").unwrap();
        assert_eq!(pressed(&french), ["KeyQ", "ShiftLeft", "Digit1"], "AZERTY");
    }

    #[test]
    fn unknown_layouts_and_long_texts_are_refused() {
        assert!(matches!(
            plan_keystrokes("xx", "a"),
            Err(KeymapError::UnknownLayout(_))
        ));
        let long = "a".repeat(TEXT_LIMIT + 1);
        assert!(matches!(
            plan_keystrokes("us", &long),
            Err(KeymapError::TextTooLong(_))
        ));
    }
}
