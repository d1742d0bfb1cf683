//! X11 keysyms (what RFB KeyEvents carry, or what the guest layout makes of a scancode) to the
//! bytes a terminal would send (UTF-8 text, Control held), and the special combinations a guest
//! reacts to (Ctrl+Alt+Del, Ctrl+Alt+Backspace, Ctrl+Alt+F1..F12, Alt+SysRq).

const CONTROL_L: u32 = 0xffe3;
const CONTROL_R: u32 = 0xffe4;
const META_L: u32 = 0xffe7;
const ALT_R: u32 = 0xffea;
const DELETE: u32 = 0xffff;
const KP_DELETE: u32 = 0xff9f;
const BACKSPACE: u32 = 0xff08;
const F1: u32 = 0xffbe;
const F12: u32 = 0xffc9;
const SYS_REQ: u32 = 0xff15;
const PRINT: u32 = 0xff61;
/// What xkb layouts make of Ctrl+Alt+F1..F12 and (with terminate:ctrl_alt_bksp) Ctrl+Alt+Backspace.
const XF86_SWITCH_VT_1: u32 = 0x1008_fe01;
const XF86_SWITCH_VT_12: u32 = 0x1008_fe0c;
const TERMINATE_SERVER: u32 = 0xfed5;

/// What a key press does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Bytes for the tty.
    Bytes(Vec<u8>),
    /// A combination the guest handles itself, by name ("Ctrl+Alt+Del").
    Combination(String),
}

/// One client's keyboard: remembers whether Control and Alt are held.
#[derive(Debug, Default, Clone)]
pub struct Keyboard {
    control: bool,
    alt: bool,
}

impl Keyboard {
    /// What a key press does (None for releases, modifiers and keys without bytes).
    pub fn key(&mut self, down: bool, keysym: u32) -> Option<Typed> {
        if matches!(keysym, CONTROL_L | CONTROL_R) {
            self.control = down;
            return None;
        }
        if (META_L..=ALT_R).contains(&keysym) {
            self.alt = down;
            return None;
        }
        if !down {
            return None;
        }
        if let Some(name) = self.combination(keysym) {
            return Some(Typed::Combination(name));
        }
        self.bytes(keysym).map(Typed::Bytes)
    }

    fn combination(&self, keysym: u32) -> Option<String> {
        match keysym {
            DELETE | KP_DELETE if self.control && self.alt => Some("Ctrl+Alt+Del".into()),
            BACKSPACE if self.control && self.alt => Some("Ctrl+Alt+Backspace".into()),
            TERMINATE_SERVER => Some("Ctrl+Alt+Backspace".into()),
            XF86_SWITCH_VT_1..=XF86_SWITCH_VT_12 => {
                Some(format!("Ctrl+Alt+F{}", keysym - XF86_SWITCH_VT_1 + 1))
            }
            F1..=F12 if self.control && self.alt => Some(format!("Ctrl+Alt+F{}", keysym - F1 + 1)),
            SYS_REQ | PRINT if self.alt => Some("Alt+SysRq".into()),
            _ => None,
        }
    }

    fn bytes(&self, keysym: u32) -> Option<Vec<u8>> {
        let bytes: Vec<u8> = match keysym {
            0xff0d | 0xff8d => vec![b'\r'],
            0xff08 => vec![0x7f],
            0xff09 => vec![b'\t'],
            0xff1b => vec![0x1b],
            0xff51 => b"\x1b[D".to_vec(),
            0xff52 => b"\x1b[A".to_vec(),
            0xff53 => b"\x1b[C".to_vec(),
            0xff54 => b"\x1b[B".to_vec(),
            0xffb0..=0xffb9 => vec![b'0' + (keysym - 0xffb0) as u8],
            0xffaa => vec![b'*'],
            0xffab => vec![b'+'],
            0xffad => vec![b'-'],
            0xffae => vec![b'.'],
            0xffaf => vec![b'/'],
            0x20..=0x7e => {
                let byte = keysym as u8;
                if self.control && byte.is_ascii_alphabetic() {
                    vec![byte.to_ascii_lowercase() & 0x1f]
                } else {
                    vec![byte]
                }
            }
            _ => {
                // Latin-1 and Unicode keysyms (0x0100_0000 + code point) type their character.
                let text = xkbcommon::xkb::keysym_to_utf8(keysym.into());
                let text = text.trim_end_matches('\0');
                if text.is_empty() || text.chars().any(char::is_control) {
                    return None;
                }
                text.as_bytes().to_vec()
            }
        };
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keys_return_and_control_letters() {
        let mut keyboard = Keyboard::default();
        let bytes = |b: &[u8]| Some(Typed::Bytes(b.to_vec()));
        assert_eq!(keyboard.key(true, 'a' as u32), bytes(b"a"));
        assert_eq!(keyboard.key(false, 'a' as u32), None);
        assert_eq!(keyboard.key(true, 0xff0d), bytes(b"\r"));
        assert_eq!(keyboard.key(true, 0xfc), bytes("\u{fc}".as_bytes()));
        assert_eq!(keyboard.key(true, 0x20ac), bytes("\u{20ac}".as_bytes()));
        assert_eq!(keyboard.key(true, 0x0100_00df), bytes("\u{df}".as_bytes()));
        assert_eq!(keyboard.key(true, CONTROL_L), None);
        assert_eq!(keyboard.key(true, 'c' as u32), bytes(&[3]));
        keyboard.key(false, CONTROL_L);
        assert_eq!(keyboard.key(true, 'C' as u32), bytes(b"C"));
        assert_eq!(
            keyboard.key(true, 0xffe1),
            None,
            "Shift alone sends nothing"
        );
    }

    #[test]
    fn special_combinations_are_named() {
        let mut keyboard = Keyboard::default();
        keyboard.key(true, CONTROL_L);
        keyboard.key(true, 0xffe9);
        assert_eq!(
            keyboard.key(true, DELETE),
            Some(Typed::Combination("Ctrl+Alt+Del".into()))
        );
        assert_eq!(
            keyboard.key(true, F1 + 6),
            Some(Typed::Combination("Ctrl+Alt+F7".into()))
        );
        keyboard.key(false, CONTROL_L);
        assert_eq!(
            keyboard.key(true, SYS_REQ),
            Some(Typed::Combination("Alt+SysRq".into()))
        );
        keyboard.key(false, 0xffe9);
        assert_eq!(keyboard.key(true, DELETE), None);
    }
}
