//! The simulated guest's terminal side: a `login:` prompt, a password prompt that accepts any
//! password, and a tiny shell (echo, hostname, uname, cat, whoami, pwd, clear, exit). Input is
//! raw bytes as a terminal sends them; output is what the guest's tty would echo and print.

/// Kernel release the simulated guest reports.
pub const KERNEL_RELEASE: &str = "6.1.0-simcluster-amd64";

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nVARIANT=\"simcluster guest\"\n";

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Login,
    Password { user: String },
    Shell { user: String },
}

/// Swallowing an escape sequence (arrow keys and the like are not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Started,
    Csi,
}

/// One terminal session of the guest (a serial port or the VGA console's tty).
#[derive(Debug, Clone)]
pub struct Shell {
    hostname: String,
    state: State,
    line: Vec<u8>,
    escape: Escape,
    last_was_cr: bool,
}

impl Shell {
    pub fn new(hostname: &str) -> Self {
        Self {
            hostname: hostname.to_string(),
            state: State::Login,
            line: Vec::new(),
            escape: Escape::None,
            last_was_cr: false,
        }
    }

    /// The current prompt.
    pub fn prompt(&self) -> String {
        match &self.state {
            State::Login => format!("{} login: ", self.hostname),
            State::Password { .. } => "Password: ".to_string(),
            State::Shell { user } if user == "root" => format!("root@{}:~# ", self.hostname),
            State::Shell { user } => format!("{user}@{}:~$ ", self.hostname),
        }
    }

    /// What a client that just attached sees: a fresh line with the prompt and the pending input.
    pub fn redraw(&self) -> Vec<u8> {
        let mut out = b"\r\n".to_vec();
        out.extend_from_slice(self.prompt().as_bytes());
        if !matches!(self.state, State::Password { .. }) {
            out.extend_from_slice(&self.line);
        }
        out
    }

    /// Feed typed bytes; returns the guest's output (echo included).
    pub fn input(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.byte(byte, &mut out);
        }
        out
    }

    fn echoes(&self) -> bool {
        !matches!(self.state, State::Password { .. })
    }

    fn byte(&mut self, byte: u8, out: &mut Vec<u8>) {
        let after_cr = std::mem::replace(&mut self.last_was_cr, byte == b'\r');
        match self.escape {
            Escape::Started => {
                self.escape = if byte == b'[' {
                    Escape::Csi
                } else {
                    Escape::None
                };
                return;
            }
            Escape::Csi => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return;
            }
            Escape::None => {}
        }
        match byte {
            0x1b => self.escape = Escape::Started,
            b'\n' if after_cr => {}
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                self.enter(line.trim(), out);
                out.extend_from_slice(self.prompt().as_bytes());
            }
            0x7f | 0x08 => {
                // One character: a UTF-8 sequence's continuation bytes go with it.
                while self.line.last().is_some_and(|b| b & 0xc0 == 0x80) {
                    self.line.pop();
                }
                let erased = self.line.pop().is_some();
                if erased && self.echoes() {
                    out.extend_from_slice(b"\x08 \x08");
                }
            }
            0x03 => {
                self.line.clear();
                out.extend_from_slice(b"^C\r\n");
                if let State::Password { .. } = self.state {
                    self.state = State::Login;
                }
                out.extend_from_slice(self.prompt().as_bytes());
            }
            0x04 if self.line.is_empty() => {
                if let State::Shell { .. } = self.state {
                    out.extend_from_slice(b"logout\r\n\r\n");
                    self.state = State::Login;
                    out.extend_from_slice(self.prompt().as_bytes());
                }
            }
            0x15 => {
                if self.echoes() {
                    for _ in String::from_utf8_lossy(&self.line).chars() {
                        out.extend_from_slice(b"\x08 \x08");
                    }
                }
                self.line.clear();
            }
            0x20..=0x7e | 0x09 | 0x80..=0xff if self.line.len() < 4096 => {
                let byte = if byte == 0x09 { b' ' } else { byte };
                self.line.push(byte);
                if self.echoes() {
                    out.push(byte);
                }
            }
            _ => {}
        }
    }

    fn enter(&mut self, line: &str, out: &mut Vec<u8>) {
        match std::mem::replace(&mut self.state, State::Login) {
            State::Login => {
                self.state = if line.is_empty() {
                    State::Login
                } else {
                    State::Password {
                        user: line.to_string(),
                    }
                };
            }
            State::Password { user } => {
                let text = format!(
                    "Linux {} {KERNEL_RELEASE} #1 SMP PREEMPT_DYNAMIC Debian 6.1.0 x86_64\n\nThis guest is simulated by simcluster: any password is accepted.\n",
                    self.hostname
                );
                push_lines(out, &text);
                self.state = State::Shell { user };
            }
            State::Shell { user } => {
                self.state = State::Shell { user: user.clone() };
                if let Some(text) = self.run(&user, line) {
                    push_lines(out, &text);
                }
            }
        }
    }

    /// Run one command line; `None` when it printed nothing.
    fn run(&mut self, user: &str, line: &str) -> Option<String> {
        let words: Vec<String> = line.split_whitespace().map(unquote).collect();
        let (command, args) = words.split_first()?;
        let home = if user == "root" {
            "/root".to_string()
        } else {
            format!("/home/{user}")
        };
        let text = match command.as_str() {
            "echo" => format!("{}\n", args.join(" ")),
            "hostname" => format!("{}\n", self.hostname),
            "whoami" => format!("{user}\n"),
            "pwd" => format!("{home}\n"),
            "true" | ":" => return None,
            "clear" => "\x1b[H\x1b[2J".to_string(),
            "uname" => self.uname(args),
            "cat" => args.iter().map(|path| self.cat(path)).collect::<String>(),
            "exit" | "logout" => {
                self.state = State::Login;
                "logout\n\n".to_string()
            }
            "help" => "commands: echo, hostname, uname [-a|-r|-n|-m|-s], cat /etc/os-release, cat /etc/hostname, whoami, pwd, clear, exit\n".to_string(),
            other => format!("-bash: {other}: command not found\n"),
        };
        Some(text)
    }

    fn uname(&self, args: &[String]) -> String {
        let all = format!(
            "Linux {} {KERNEL_RELEASE} #1 SMP PREEMPT_DYNAMIC Debian 6.1.0 (2026-10-01) x86_64 GNU/Linux",
            self.hostname
        );
        let text = match args.first().map(String::as_str) {
            None | Some("-s") => "Linux".to_string(),
            Some("-a") => all,
            Some("-r") => KERNEL_RELEASE.to_string(),
            Some("-n") => self.hostname.clone(),
            Some("-m") => "x86_64".to_string(),
            Some(other) => {
                format!(
                    "uname: invalid option -- '{}'",
                    other.trim_start_matches('-')
                )
            }
        };
        format!("{text}\n")
    }

    fn cat(&self, path: &str) -> String {
        match path {
            "/etc/os-release" | "/usr/lib/os-release" => OS_RELEASE.to_string(),
            "/etc/hostname" => format!("{}\n", self.hostname),
            other => format!("cat: {other}: No such file or directory\n"),
        }
    }
}

fn unquote(word: &str) -> String {
    let stripped = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .or_else(|| word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')));
    stripped.unwrap_or(word).to_string()
}

/// Append `text` with `\n` turned into the terminal's `\r\n`.
fn push_lines(out: &mut Vec<u8>, text: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged_in() -> Shell {
        let mut shell = Shell::new("vm1");
        shell.input(b"root\r");
        shell.input(b"secret\r");
        shell
    }

    fn run(shell: &mut Shell, line: &str) -> String {
        String::from_utf8(shell.input(format!("{line}\r").as_bytes())).unwrap()
    }

    #[test]
    fn login_then_prompt_and_password_is_not_echoed() {
        let mut shell = Shell::new("vm1");
        assert!(
            String::from_utf8(shell.redraw())
                .unwrap()
                .ends_with("vm1 login: ")
        );
        let out = String::from_utf8(shell.input(b"root\r")).unwrap();
        assert_eq!(out, "root\r\nPassword: ");
        let out = String::from_utf8(shell.input(b"hunter2\r\n")).unwrap();
        assert!(!out.contains("hunter2"));
        assert!(out.ends_with("root@vm1:~# "), "{out:?}");
    }

    #[test]
    fn commands_answer_like_a_debian_guest() {
        let mut shell = logged_in();
        assert!(run(&mut shell, "echo hello   'world'").contains("\r\nhello world\r\n"));
        assert!(run(&mut shell, "hostname").contains("\r\nvm1\r\n"));
        assert!(run(&mut shell, "uname -a").contains("Linux vm1 6.1.0"));
        assert!(run(&mut shell, "cat /etc/os-release").contains("ID=debian"));
        assert!(run(&mut shell, "frobnicate").contains("-bash: frobnicate: command not found"));
        let out = run(&mut shell, "exit");
        assert!(out.ends_with("vm1 login: "), "{out:?}");
    }

    #[test]
    fn backspace_edits_and_escape_sequences_are_ignored() {
        let mut shell = logged_in();
        let out = String::from_utf8(shell.input(b"hostnamx\x7fe\x1b[A\r")).unwrap();
        assert!(out.contains("\x08 \x08"));
        assert!(out.contains("\r\nvm1\r\n"), "{out:?}");
        let out = String::from_utf8(shell.input(b"sleep\x03")).unwrap();
        assert!(out.ends_with("^C\r\nroot@vm1:~# "));
    }
}
