//! Paste as keystrokes: the guest layouts offered and the keys that type a text on one (the
//! console engine's planner, run off the async threads).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use vmdeck_console::keymap::{KeymapError, LAYOUTS, plan_keystrokes};

use crate::app::App;
use crate::ui_error::UiError;

/// A text to type on a guest whose keyboard layout is `layout` (one of [`GuestLayoutView`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PlanKeystrokesInput.ts")]
pub struct PlanKeystrokesInput {
    pub layout: String,
    pub text: String,
}

/// A guest keyboard layout the paste feature offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "GuestLayoutView.ts")]
pub struct GuestLayoutView {
    /// The XKB layout name (`de`).
    pub id: String,
    pub label: String,
}

/// One key event: noVNC's `rfb.sendKey(keysym, code, down)` (an empty code sends the keysym
/// alone, as a plain RFB KeyEvent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "PlannedKeyView.ts")]
pub struct PlannedKeyView {
    /// KeyboardEvent.code of the physical key (`KeyQ`, `AltRight`).
    pub code: String,
    pub keysym: u32,
    pub down: bool,
}

/// The keys that type the text, the characters the layout has no key for (each once; `keys`
/// sends them by keysym alone, to be confirmed first) and the control characters no key event
/// types (left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export_to = "KeystrokePlanView.ts")]
pub struct KeystrokePlanView {
    pub keys: Vec<PlannedKeyView>,
    pub untypable: Vec<String>,
    pub unsendable: Vec<String>,
}

impl From<KeymapError> for UiError {
    fn from(error: KeymapError) -> Self {
        let mut ui = UiError::new(error.code(), error.to_string());
        ui.field = Some(
            match error {
                KeymapError::TextTooLong(_) => "text",
                _ => "layout",
            }
            .to_string(),
        );
        ui
    }
}

impl App {
    /// The guest layouts offered.
    pub fn guest_layouts(&self) -> Vec<GuestLayoutView> {
        LAYOUTS
            .iter()
            .map(|(id, label)| GuestLayoutView {
                id: (*id).to_string(),
                label: (*label).to_string(),
            })
            .collect()
    }

    /// The keys that type `input.text` on a guest with layout `input.layout`.
    pub async fn plan_keystrokes(
        &self,
        input: PlanKeystrokesInput,
    ) -> Result<KeystrokePlanView, UiError> {
        let plan = tokio::task::spawn_blocking(move || plan_keystrokes(&input.layout, &input.text))
            .await
            .map_err(UiError::internal)??;
        Ok(KeystrokePlanView {
            keys: plan
                .keys
                .into_iter()
                .map(|k| PlannedKeyView {
                    code: k.code.to_string(),
                    keysym: k.keysym,
                    down: k.down,
                })
                .collect(),
            untypable: plan.untypable.into_iter().map(String::from).collect(),
            unsendable: plan.unsendable.into_iter().map(String::from).collect(),
        })
    }
}
