//! The built-in guest's keyboard layout through a raw RFB client: QEMU extended key events
//! (acknowledged with the -258 pseudo-rectangle) are typed through the layout annotated on the
//! VM (`simcluster.vmdeck.io/keymap`, default us), read from xkb-data; the screen then shows
//! exactly the frame a guest that received that text draws. Special combinations are shown.

mod console_support;

use std::time::Duration;

use console_support::rfb::Client;
use console_support::{Bytes, cluster_with_vmi, connect, path};
use serde_json::json;
use simcluster::consoles::screen::Screen;

const TEXT: &str = "Grüße, Welt! @€ {[]}";
const SHIFT: u32 = 0x2a;
const ALTGR: u32 = 0xb8;

/// One key on the guest's keyboard: the XT scancodes held for it (modifiers first).
#[derive(Debug, Clone, Copy)]
enum Press {
    /// The physical key (and the modifiers held).
    Keys(&'static [u32]),
    /// No key of the layout types it: a plain keysym event.
    Keysym(char),
}

/// What a German (de, pc105) keyboard user presses for [`TEXT`]: ü and ß have their own keys,
/// AltGr+Q is @, AltGr+E is €, AltGr+7/8/9/0 are { [ ] }.
const GERMAN: &[Press] = &[
    Press::Keys(&[SHIFT, 0x22]), // G
    Press::Keys(&[0x13]),        // r
    Press::Keys(&[0x1a]),        // ü
    Press::Keys(&[0x0c]),        // ß
    Press::Keys(&[0x12]),        // e
    Press::Keys(&[0x33]),        // ,
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[SHIFT, 0x11]), // W
    Press::Keys(&[0x12]),        // e
    Press::Keys(&[0x26]),        // l
    Press::Keys(&[0x14]),        // t
    Press::Keys(&[SHIFT, 0x02]), // !
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[ALTGR, 0x10]), // @
    Press::Keys(&[ALTGR, 0x12]), // €
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[ALTGR, 0x08]), // {
    Press::Keys(&[ALTGR, 0x09]), // [
    Press::Keys(&[ALTGR, 0x0a]), // ]
    Press::Keys(&[ALTGR, 0x0b]), // }
];

/// The same text on a US keyboard: ü, ß and € are on no key, so they go as keysyms.
const US: &[Press] = &[
    Press::Keys(&[SHIFT, 0x22]), // G
    Press::Keys(&[0x13]),        // r
    Press::Keysym('ü'),
    Press::Keysym('ß'),
    Press::Keys(&[0x12]),        // e
    Press::Keys(&[0x33]),        // ,
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[SHIFT, 0x11]), // W
    Press::Keys(&[0x12]),        // e
    Press::Keys(&[0x26]),        // l
    Press::Keys(&[0x14]),        // t
    Press::Keys(&[SHIFT, 0x02]), // !
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[SHIFT, 0x03]), // @
    Press::Keysym('€'),
    Press::Keys(&[0x39]),        // space
    Press::Keys(&[SHIFT, 0x1a]), // {
    Press::Keys(&[0x1a]),        // [
    Press::Keys(&[0x1b]),        // ]
    Press::Keys(&[SHIFT, 0x1b]), // }
];

/// Connect with the QEMU extended key event pseudo-encoding and wait for its acknowledgement
/// and the first full frame.
async fn connect_with_scancodes(cluster: &simcluster::SimCluster, vm: &str) -> Client {
    let socket = connect(cluster, "admin", &path(vm, "vnc"))
        .await
        .unwrap_or_else(|r| panic!("vnc refused: {r:?}"));
    let mut vnc = Client::handshake(Bytes::new(socket)).await;
    vnc.set_encodings(&[0, 1, -258]).await;
    let ack = vnc.read_update().await;
    assert!(
        ack.len() == 1 && ack[0].encoding == -258,
        "the server acknowledges QEMU extended key events as QEMU does: {ack:?}"
    );
    vnc.request(false).await;
    vnc.read_update().await;
    vnc
}

/// Press every key of `presses` (modifiers held around their key; XT codes only, keysym 0, so the
/// layout alone decides what is typed).
async fn press_all(vnc: &mut Client, presses: &[Press]) {
    for press in presses {
        match *press {
            Press::Keys(keys) => {
                for &xt in keys {
                    vnc.scancode(true, 0, xt).await;
                }
                for &xt in keys.iter().rev() {
                    vnc.scancode(false, 0, xt).await;
                }
            }
            Press::Keysym(c) => vnc.key(c as u32).await,
        }
    }
}

/// The frame of a guest `vm` whose console received `text` (what the screen must show).
fn expected_frame(vm: &str, change: impl FnOnce(&Screen)) -> (Vec<u32>, String) {
    let screen = Screen::boot("default", vm);
    change(&screen);
    let pixels = screen.with_display(|d| {
        let fb = &d.fb;
        (0..fb.height())
            .flat_map(|y| fb.row(0, y, fb.width()).to_vec())
            .map(|p| p & 0x00ff_ffff)
            .collect()
    });
    (pixels, screen.text())
}

/// Follow incremental updates until the client's frame is `expected` (every update must come
/// within the wait limit: a screen that stops changing short of it fails).
async fn wait_for_frame(vnc: &mut Client, expected: &[u32], text: &str) {
    vnc.request(true).await;
    while vnc.pixels != expected {
        tokio::time::timeout(Duration::from_secs(10), vnc.read_update())
            .await
            .unwrap_or_else(|_| {
                panic!("the guest screen stopped changing without showing this console:\n{text}")
            });
        vnc.request(true).await;
    }
}

async fn typed_text_shows(keymap: Option<&str>, presses: &[Press]) {
    let vm = "typist";
    let annotations = match keymap {
        Some(keymap) => json!({ "simcluster.vmdeck.io/keymap": keymap }),
        None => json!({}),
    };
    let (cluster, _client) = cluster_with_vmi(vm, annotations).await;
    let mut vnc = connect_with_scancodes(&cluster, vm).await;
    press_all(&mut vnc, presses).await;
    let (expected, text) = expected_frame(vm, |screen| screen.type_bytes(TEXT.as_bytes()));
    assert!(
        text.contains(&format!("{vm} login: {TEXT}")),
        "the reference guest echoes the text: {text}"
    );
    wait_for_frame(&mut vnc, &expected, &text).await;
}

#[tokio::test]
async fn german_scancodes_type_the_text_on_a_german_guest() {
    typed_text_shows(Some("de"), GERMAN).await;
}

#[tokio::test]
async fn us_scancodes_type_the_text_on_a_us_guest_by_default() {
    typed_text_shows(None, US).await;
}

#[tokio::test]
async fn a_layout_xkb_data_lacks_is_refused_naming_the_annotation() {
    let (cluster, _client) = cluster_with_vmi(
        "odd",
        json!({ "simcluster.vmdeck.io/keymap": "no-such-layout" }),
    )
    .await;
    let Err(refused) = connect(&cluster, "admin", &path("odd", "vnc")).await else {
        panic!("an unknown layout is refused");
    };
    assert_eq!(refused.code, 400);
    let message = refused.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("simcluster.vmdeck.io/keymap") && message.contains("no-such-layout"),
        "{message}"
    );
}

#[tokio::test]
async fn ctrl_alt_delete_by_scancode_is_shown_on_the_screen() {
    let vm = "rebooter";
    let (cluster, _client) =
        cluster_with_vmi(vm, json!({ "simcluster.vmdeck.io/keymap": "fr" })).await;
    let mut vnc = connect_with_scancodes(&cluster, vm).await;
    // Left Ctrl, left Alt, Delete (E0 53), then released in reverse.
    press_all(&mut vnc, &[Press::Keys(&[0x1d, 0x38, 0xd3])]).await;
    let (expected, text) = expected_frame(vm, |screen| screen.show_line("Ctrl+Alt+Del"));
    assert!(text.contains("\nCtrl+Alt+Del\n"), "{text}");
    wait_for_frame(&mut vnc, &expected, &text).await;
}
