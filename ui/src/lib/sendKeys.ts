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
