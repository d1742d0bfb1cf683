// The VNC console's Send keys menu: combinations the browser or the desktop would keep for
// themselves (Ctrl+Alt+Del, Ctrl+Alt+F1..F12, Ctrl+Alt+Backspace, SysRq, the Windows key), as
// X keysyms with their physical key codes (noVNC turns codes into QEMU scancodes), and sticky
// modifiers held down until released.

export interface Key {
  keysym: number;
  /** The KeyboardEvent.code of the physical key. */
  code: string;
}

export const keys = {
  ctrl: { keysym: 0xffe3, code: 'ControlLeft' },
  alt: { keysym: 0xffe9, code: 'AltLeft' },
  shift: { keysym: 0xffe1, code: 'ShiftLeft' },
  super: { keysym: 0xffeb, code: 'MetaLeft' },
  del: { keysym: 0xffff, code: 'Delete' },
  backspace: { keysym: 0xff08, code: 'Backspace' },
  sysrq: { keysym: 0xff15, code: 'PrintScreen' },
  f: (n: number): Key => ({ keysym: 0xffbe + n - 1, code: `F${n}` }),
} as const;

export interface Combo {
  id: string;
  label: string;
  /** Pressed in order, released in reverse. */
  keys: Key[];
}

export const combos: Combo[] = [
  { id: 'ctrl-alt-del', label: 'Ctrl+Alt+Del', keys: [keys.ctrl, keys.alt, keys.del] },
  { id: 'ctrl-alt-backspace', label: 'Ctrl+Alt+Backspace', keys: [keys.ctrl, keys.alt, keys.backspace] },
  ...Array.from({ length: 12 }, (_, i) => ({ id: `ctrl-alt-f${i + 1}`, label: `Ctrl+Alt+F${i + 1}`, keys: [keys.ctrl, keys.alt, keys.f(i + 1)] })),
  { id: 'alt-sysrq', label: 'Alt+SysRq', keys: [keys.alt, keys.sysrq] },
  { id: 'super', label: 'Windows key', keys: [keys.super] },
];

export type Modifier = 'ctrl' | 'alt' | 'shift' | 'super';
export const modifiers: { id: Modifier; label: string }[] = [
  { id: 'ctrl', label: 'Ctrl' },
  { id: 'alt', label: 'Alt' },
  { id: 'shift', label: 'Shift' },
  { id: 'super', label: 'Windows' },
];

export interface KeyEvent extends Key {
  down: boolean;
}

/** The key events of a combination: every key down in order, then up in reverse. Keys a
 * sticky modifier already holds are neither pressed nor released again. */
export function comboEvents(combo: Combo, held: ReadonlySet<Modifier> = new Set()): KeyEvent[] {
  const heldCodes = new Set<string>([...held].map((m) => keys[m].code));
  const pressed = combo.keys.filter((k) => !heldCodes.has(k.code));
  return [...pressed.map((k) => ({ ...k, down: true })), ...[...pressed].reverse().map((k) => ({ ...k, down: false }))];
}

/** The event that toggling a sticky modifier sends. */
export function modifierEvent(modifier: Modifier, nowHeld: boolean): KeyEvent {
  return { ...keys[modifier], down: nowHeld };
}

/** The keysym that types one character (X11: Latin-1 as itself, the rest as 0x01000000 + code point). */
export function keysymOf(char: string): number | null {
  if (char === '\n') return 0xff0d; // Return
  if (char === '\t') return 0xff09; // Tab
  const cp = char.codePointAt(0);
  if (cp === undefined || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return null;
  if (cp <= 0xff) return cp;
  return 0x01000000 + cp;
}

/** The characters of `text` that cannot be typed as keys (control characters), each once. */
export function untypable(text: string): string[] {
  const bad = new Set<string>();
  for (const char of text.replace(/\r\n/g, '\n')) if (keysymOf(char) === null) bad.add(char);
  return [...bad];
}

/** A visible name for a character that cannot be typed. */
export const charName = (char: string): string => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The key events that type `text` by keysym (the server's keymap places them): each character
 * pressed and released, `\r\n` as one Return. Nothing when a character cannot be typed. */
export function typingEvents(text: string): KeyEvent[] {
  const events: KeyEvent[] = [];
  for (const char of text.replace(/\r\n/g, '\n')) {
    const keysym = keysymOf(char);
    if (keysym === null) return [];
    events.push({ keysym, code: '', down: true }, { keysym, code: '', down: false });
  }
  return events;
}
