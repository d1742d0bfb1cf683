// The Send keys menu: each combination's key events (down in order, up in reverse, with the
// physical key codes), sticky modifiers not pressed twice.
import { describe, expect, it } from 'vitest';
import { comboEvents, combos, modifierEvent } from '../../src/lib/sendKeys';

const byId = (id: string) => combos.find((c) => c.id === id)!;
const brief = (events: ReturnType<typeof comboEvents>) => events.map((e) => `${e.down ? '+' : '-'}${e.code}`);

describe('send keys', () => {
  it('Ctrl+Alt+Del presses Ctrl, Alt, Delete and releases them in reverse', () => {
    expect(brief(comboEvents(byId('ctrl-alt-del')))).toEqual(['+ControlLeft', '+AltLeft', '+Delete', '-Delete', '-AltLeft', '-ControlLeft']);
    expect(comboEvents(byId('ctrl-alt-del'))[2]!.keysym).toBe(0xffff);
  });

  it('offers Ctrl+Alt+F1..F12 with their keysyms, Backspace, SysRq and the Windows key', () => {
    const f = combos.filter((c) => /^ctrl-alt-f\d+$/.test(c.id));
    expect(f.map((c) => c.label)).toEqual(Array.from({ length: 12 }, (_, i) => `Ctrl+Alt+F${i + 1}`));
    expect(f[0]!.keys[2]).toEqual({ keysym: 0xffbe, code: 'F1' });
    expect(f[11]!.keys[2]).toEqual({ keysym: 0xffc9, code: 'F12' });
    expect(brief(comboEvents(byId('ctrl-alt-backspace')))).toContain('+Backspace');
    expect(brief(comboEvents(byId('alt-sysrq')))).toEqual(['+AltLeft', '+PrintScreen', '-PrintScreen', '-AltLeft']);
    expect(brief(comboEvents(byId('super')))).toEqual(['+MetaLeft', '-MetaLeft']);
  });

  it('a held sticky modifier is neither pressed nor released by a combination', () => {
    expect(brief(comboEvents(byId('ctrl-alt-f2'), new Set(['ctrl'])))).toEqual(['+AltLeft', '+F2', '-F2', '-AltLeft']);
    expect(modifierEvent('alt', true)).toEqual({ keysym: 0xffe9, code: 'AltLeft', down: true });
    expect(modifierEvent('alt', false).down).toBe(false);
  });
});

describe('typing text as keys', () => {
  it('keysyms: ASCII and Latin-1 as themselves, the rest offset, Return and Tab', async () => {
    const { keysymOf } = await import('../../src/lib/sendKeys');
    expect(keysymOf('a')).toBe(0x61);
    expect(keysymOf('ü')).toBe(0xfc);
    expect(keysymOf('€')).toBe(0x010020ac);
    expect(keysymOf('\n')).toBe(0xff0d);
    expect(keysymOf('\t')).toBe(0xff09);
    expect(keysymOf('\u0007')).toBeNull();
  });

  it('each character pressed and released; CRLF is one Return; an untypable character types nothing and is named', async () => {
    const { typingEvents, untypable, charName } = await import('../../src/lib/sendKeys');
    expect(typingEvents('ab\r\n').map((e) => `${e.down ? '+' : '-'}${e.keysym.toString(16)}`)).toEqual(['+61', '-61', '+62', '-62', '+ff0d', '-ff0d']);
    expect(typingEvents('a\u0007b')).toEqual([]);
    expect(untypable('a\u0007b\u0007\u001b')).toEqual(['\u0007', '\u001b']);
    expect(charName('\u001b')).toBe('U+001B');
    expect(untypable('Grüße, Welt! @€ {[]}')).toEqual([]);
  });
});
