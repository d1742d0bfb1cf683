// Paste as keystrokes with a guest layout: the core's plan (physical keys for that layout) as
// noVNC key events, sent in chunks so the pace follows the connection (no fixed sleep per key).

import type { KeystrokePlanView } from './generated';
import type { KeyEvent } from './sendKeys';

/** How many key events go out before waiting for the socket to drain. */
export const CHUNK = 64;

/** The plan's keys as noVNC key events (`rfb.sendKey(keysym, code, down)`; an empty code, for a
 * character the layout has no key for, sends the keysym alone as a plain RFB KeyEvent). */
export function planEvents(plan: KeystrokePlanView): KeyEvent[] {
  return plan.keys.map((k) => ({ keysym: k.keysym, code: k.code, down: k.down }));
}

/** `events` in chunks of at most `size`, never splitting a chunk between a key's press and
 * release when the release is the next event. */
export function chunks(events: KeyEvent[], size = CHUNK): KeyEvent[][] {
  const out: KeyEvent[][] = [];
  let current: KeyEvent[] = [];
  for (const event of events) {
    current.push(event);
    if (current.length >= size && !event.down) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Sends `events` chunk by chunk, waiting after each until `drained()` says the socket has sent
 * everything (checked once per animation frame). */
export async function sendPaced(
  events: KeyEvent[],
  send: (chunk: KeyEvent[]) => void,
  drained: () => boolean,
  nextFrame: () => Promise<void> = () => new Promise((resolve) => requestAnimationFrame(() => resolve())),
): Promise<void> {
  for (const chunk of chunks(events)) {
    send(chunk);
    while (!drained()) await nextFrame();
  }
}
