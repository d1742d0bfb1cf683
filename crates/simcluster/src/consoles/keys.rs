//! X11 keysyms (what RFB KeyEvents carry) to the bytes a terminal would send, with Control held.

const CONTROL_L: u32 = 0xffe3;
const CONTROL_R: u32 = 0xffe4;

/// One client's keyboard: remembers whether Control is held.
#[derive(Debug, Default, Clone)]
pub struct Keyboard {
    control: bool,
}

impl Keyboard {
    /// The bytes a key press produces (None for releases, modifiers and keys without bytes).
    pub fn key(&mut self, down: bool, keysym: u32) -> Option<Vec<u8>> {
        if matches!(keysym, CONTROL_L | CONTROL_R) {
            self.control = down;
            return None;
        }
        if !down {
            return None;
        }
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
            _ => return None,
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
        assert_eq!(keyboard.key(true, 'a' as u32), Some(b"a".to_vec()));
        assert_eq!(keyboard.key(false, 'a' as u32), None);
        assert_eq!(keyboard.key(true, 0xff0d), Some(b"\r".to_vec()));
        assert_eq!(keyboard.key(true, CONTROL_L), None);
        assert_eq!(keyboard.key(true, 'c' as u32), Some(vec![3]));
        keyboard.key(false, CONTROL_L);
        assert_eq!(keyboard.key(true, 'C' as u32), Some(b"C".to_vec()));
        assert_eq!(
            keyboard.key(true, 0xffe1),
            None,
            "Shift alone sends nothing"
        );
    }
}
