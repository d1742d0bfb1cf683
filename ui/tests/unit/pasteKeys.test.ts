// Paste as keystrokes with a guest layout: the core's plan as noVNC key events, chunked and paced
// by the socket draining.
import { describe, expect, it } from 'vitest';
import { chunks, planEvents, sendPaced } from '../../src/lib/pasteKeys';
import type { KeyEvent } from '../../src/lib/sendKeys';

const press = (code: string, n: number): KeyEvent[] => [
  { keysym: n, code, down: true },
  { keysym: n, code, down: false },
];

describe('paste as keystrokes', () => {
  it('turns the plan into key events in order; a character without a key goes as its keysym alone', () => {
    const events = planEvents({
      keys: [
        { code: 'AltRight', keysym: 0xfe03, down: true },
        { code: 'KeyQ', keysym: 0x40, down: true },
        { code: 'KeyQ', keysym: 0x40, down: false },
        { code: 'AltRight', keysym: 0xfe03, down: false },
        { code: '', keysym: 0xfc, down: true },
        { code: '', keysym: 0xfc, down: false },
      ],
      untypable: ['ü'],
      unsendable: [],
    });
    expect(events.map((e) => `${e.code}${e.down ? '+' : '-'}`)).toEqual(['AltRight+', 'KeyQ+', 'KeyQ-', 'AltRight-', '+', '-']);
    expect(events.at(-1)).toEqual({ keysym: 0xfc, code: '', down: false });
  });

  it('chunks end on a release and keep every event', () => {
    const events = Array.from({ length: 100 }, (_, i) => press('KeyA', i)).flat();
    const parts = chunks(events, 7);
    expect(parts.flat()).toEqual(events);
    for (const part of parts.slice(0, -1)) expect(part.at(-1)!.down).toBe(false);
    expect(parts.length).toBe(Math.ceil(200 / 8));
  });

  it('waits for the socket to drain between chunks', async () => {
    const events = Array.from({ length: 64 }, (_, i) => press('KeyA', i)).flat();
    const log: string[] = [];
    let buffered = 0;
    await sendPaced(
      events,
      (chunk) => {
        log.push(`send ${chunk.length}`);
        buffered = 2;
      },
      () => buffered === 0,
      async () => {
        log.push('frame');
        buffered -= 1;
      },
    );
    expect(log).toEqual(['send 64', 'frame', 'frame', 'send 64', 'frame', 'frame']);
  });
});
