//! The built-in guest behind a VMI's consoles when no backend is annotated: its VGA screen (for
//! VNC and screenshots) and its serial port's shell, kept per VMI uid across sessions.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::cluster::Cluster;
use crate::consoles::screen::Screen;
use crate::consoles::shell::Shell;

/// One simulated guest.
pub struct Guest {
    pub screen: Arc<Screen>,
    pub serial: Mutex<Shell>,
}

/// Guests by VMI uid.
#[derive(Default, Clone)]
pub struct Guests {
    by_uid: Arc<Mutex<HashMap<String, Arc<Guest>>>>,
}

impl Guests {
    /// The guest of a VMI, booted on first use; guests of deleted VMIs are forgotten.
    pub fn get(&self, cluster: &Cluster, uid: &str, namespace: &str, name: &str) -> Arc<Guest> {
        let mut guests = self.by_uid.lock();
        guests.retain(|uid, _| cluster.store().by_uid(uid).is_some());
        guests
            .entry(uid.to_string())
            .or_insert_with(|| {
                Arc::new(Guest {
                    screen: Arc::new(Screen::boot(namespace, name)),
                    serial: Mutex::new(Shell::new(name)),
                })
            })
            .clone()
    }
}

/// Serve the guest's serial port on `stream`: the prompt is redrawn on attach.
pub async fn serve_serial<S>(stream: S, guest: Arc<Guest>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let hello = guest.serial.lock().redraw();
    writer.write_all(&hello).await?;
    writer.flush().await?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let output = guest.serial.lock().input(&buf[..n]);
        writer.write_all(&output).await?;
        writer.flush().await?;
    }
}
