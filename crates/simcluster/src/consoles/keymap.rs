//! The guest's keyboard layout: key events (plain keysyms, or QEMU extended key events carrying
//! XT scancodes) typed through a layout from xkb-data, read by libxkbcommon, whose state tracks
//! Shift, AltGr (ISO_Level3_Shift) and the locks from the events, as a guest's own keyboard
//! driver would. The layout is chosen per VM by annotation `simcluster.vmdeck.io/keymap`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, mpsc};

use parking_lot::Mutex;
use xkbcommon::xkb;

use crate::consoles::keys::{Keyboard, Typed};
use crate::consoles::screen::Screen;

/// The annotation choosing a VM's guest layout (an XKB layout name, optionally with a variant:
/// `de`, `fr`, `de(nodeadkeys)`).
pub const KEYMAP_ANNOTATION: &str = "simcluster.vmdeck.io/keymap";
/// The layout of a VM without the annotation.
pub const DEFAULT_KEYMAP: &str = "us";

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error(
        "annotation {KEYMAP_ANNOTATION}: {0:?} is not a layout xkb-data knows; use an XKB layout name such as us, de, fr or de(nodeadkeys)"
    )]
    Unknown(String),
}

/// One key event as the RFB client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyInput {
    /// RFB KeyEvent: the keysym is what the guest gets, whatever its layout.
    Keysym { down: bool, keysym: u32 },
    /// QEMU extended key event: the physical key (XT scancode, `0x80 |` the code for `E0`-prefixed
    /// keys) is typed through the guest's layout; the keysym is used only when the scancode is 0.
    Scancode { down: bool, keysym: u32, xt: u32 },
}

/// `de` or `de(nodeadkeys)` as XKB layout and variant.
fn layout_and_variant(name: &str) -> Result<(&str, &str), KeymapError> {
    let unknown = || KeymapError::Unknown(name.to_string());
    let name = name.trim();
    let (layout, variant) = match name.split_once('(') {
        Some((layout, rest)) => (layout, rest.strip_suffix(')').ok_or_else(unknown)?),
        None => (name, ""),
    };
    let valid = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if layout.is_empty() || !valid(layout) || !valid(variant) {
        return Err(unknown());
    }
    Ok((layout, variant))
}

/// Compile the layout `name` (pc105 keyboard, evdev keycodes) from xkb-data.
pub fn compile(context: &xkb::Context, name: &str) -> Result<xkb::Keymap, KeymapError> {
    let (layout, variant) = layout_and_variant(name)?;
    xkb::Keymap::new_from_names(
        context,
        "evdev",
        "pc105",
        layout,
        variant,
        None,
        xkb::KEYMAP_COMPILE_NO_FLAGS,
    )
    .ok_or_else(|| KeymapError::Unknown(name.to_string()))
}

/// Whether `name` is a layout xkb-data has (compiled once per name; call off the async threads).
pub fn check(name: &str) -> Result<(), KeymapError> {
    static CHECKED: LazyLock<Mutex<HashMap<String, bool>>> = LazyLock::new(Default::default);
    if let Some(&known) = CHECKED.lock().get(name) {
        return known
            .then_some(())
            .ok_or_else(|| KeymapError::Unknown(name.to_string()));
    }
    let result = compile(&xkb::Context::new(xkb::CONTEXT_NO_FLAGS), name).map(drop);
    CHECKED.lock().insert(name.to_string(), result.is_ok());
    result
}

/// The Linux evdev keycode of an RFB/QEMU XT scancode (what the kernel's atkbd driver maps a PC
/// keyboard's set-1 codes to); None for codes no PC key sends.
pub fn evdev_from_xt(xt: u32) -> Option<u32> {
    Some(match xt {
        // Escape .. keypad '.', F11, F12: set 1 and evdev agree.
        0x01..=0x53 | 0x57 | 0x58 => xt,
        0x56 => 86,        // the ISO key left of Z (<LSGT>)
        0x70 => 93,        // Katakana/Hiragana
        0x73 => 89,        // Ro (the JIS key left of right Shift)
        0x79 => 92,        // Henkan
        0x7b => 94,        // Muhenkan
        0x7d => 124,       // Yen
        0x9c => 96,        // keypad Enter
        0x9d => 97,        // right Control
        0xb5 => 98,        // keypad '/'
        0xb7 | 0x54 => 99, // SysRq / Print Screen
        0xb8 => 100,       // right Alt (AltGr)
        0xc7 => 102,       // Home
        0xc8 => 103,       // Up
        0xc9 => 104,       // Page Up
        0xcb => 105,       // Left
        0xcd => 106,       // Right
        0xcf => 107,       // End
        0xd0 => 108,       // Down
        0xd1 => 109,       // Page Down
        0xd2 => 110,       // Insert
        0xd3 => 111,       // Delete
        0xdb => 125,       // left Super
        0xdc => 126,       // right Super
        0xdd => 127,       // Menu
        _ => return None,
    })
}

/// A VNC session's keyboard: a thread owning the layout's xkb state (libxkbcommon's objects stay
/// on one thread) that types every event, in order, into the screen's tty.
pub struct GuestKeyboard {
    events: mpsc::Sender<KeyInput>,
}

impl GuestKeyboard {
    /// Start typing into `screen` through layout `keymap` (checked with [`check`] beforehand; a
    /// layout that does not compile falls back to the events' keysyms).
    pub fn start(screen: Arc<Screen>, keymap: &str) -> std::io::Result<Self> {
        let (events, received) = mpsc::channel();
        let keymap = keymap.to_string();
        std::thread::Builder::new()
            .name("guest-keyboard".into())
            .spawn(move || type_events(&screen, &keymap, &received))?;
        Ok(Self { events })
    }

    /// Type one event (after every event sent before it).
    pub fn send(&self, input: KeyInput) {
        let _ = self.events.send(input);
    }
}

fn type_events(screen: &Screen, keymap: &str, received: &mpsc::Receiver<KeyInput>) {
    let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
    let mut state = match compile(&context, keymap) {
        Ok(keymap) => Some(xkb::State::new(&keymap)),
        Err(e) => {
            tracing::warn!("{e}; typing keysyms as sent");
            None
        }
    };
    let mut keyboard = Keyboard::default();
    while let Ok(input) = received.recv() {
        let (down, keysym) = match input {
            KeyInput::Keysym { down, keysym } => (down, keysym),
            KeyInput::Scancode { down, keysym, xt } => match (state.as_mut(), evdev_from_xt(xt)) {
                (Some(state), Some(evdev)) => (down, layout_keysym(state, evdev, down)),
                _ => (down, keysym),
            },
        };
        match keyboard.key(down, keysym) {
            Some(Typed::Bytes(bytes)) => screen.type_bytes(&bytes),
            Some(Typed::Combination(name)) => screen.show_line(&name),
            None => {}
        }
    }
}

/// The keysym the layout gives the key in the current state, then the state updated for the
/// press or release (lookup before update, as libxkbcommon prescribes).
fn layout_keysym(state: &mut xkb::State, evdev: u32, down: bool) -> u32 {
    let key = xkb::Keycode::new(evdev + 8);
    let keysym = state.key_get_one_sym(key).raw();
    let direction = if down {
        xkb::KeyDirection::Down
    } else {
        xkb::KeyDirection::Up
    };
    state.update_key(key, direction);
    keysym
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keysyms(layout: &str, presses: &[&[u32]]) -> Vec<u32> {
        let context = xkb::Context::new(xkb::CONTEXT_NO_FLAGS);
        let mut state = xkb::State::new(&compile(&context, layout).unwrap());
        let mut out = Vec::new();
        for chord in presses {
            for (i, &xt) in chord.iter().enumerate() {
                let sym = layout_keysym(&mut state, evdev_from_xt(xt).unwrap(), true);
                if i + 1 == chord.len() {
                    out.push(sym);
                }
            }
            for &xt in chord.iter().rev() {
                layout_keysym(&mut state, evdev_from_xt(xt).unwrap(), false);
            }
        }
        out
    }

    #[test]
    fn german_layout_swaps_z_and_y_and_types_altgr_q_as_at() {
        // Y (0x15), Z (0x2c), AltGr+Q, Shift+2.
        let presses: &[&[u32]] = &[&[0x15], &[0x2c], &[0xb8, 0x10], &[0x2a, 0x03]];
        assert_eq!(
            keysyms("de", presses),
            ['z' as u32, 'y' as u32, '@' as u32, '"' as u32]
        );
        assert_eq!(
            keysyms("us", presses),
            ['y' as u32, 'z' as u32, 'q' as u32, '@' as u32]
        );
    }

    #[test]
    fn layout_names_are_checked() {
        assert!(check("de(nodeadkeys)").is_ok());
        assert!(matches!(check("xx-no-such"), Err(KeymapError::Unknown(_))));
        assert!(matches!(check("de(;rm)"), Err(KeymapError::Unknown(_))));
    }
}
