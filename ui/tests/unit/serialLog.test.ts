// The serial log file: lines trimmed, the blank end dropped; its name.
import { describe, expect, it } from 'vitest';
import { logFileName, logText } from '../../src/lib/serialLog';

describe('serial log', () => {
  it('keeps the lines, trims their ends and drops the blank end', () => {
    expect(logText(['web-01 login: root   ', 'Password: ', '', 'root@web-01:~# ', '   ', ''])).toBe('web-01 login: root\nPassword:\n\nroot@web-01:~#\n');
    expect(logText(['', '  '])).toBe('');
  });

  it('names the file after the VM and the time', () => {
    expect(logFileName('web-01', new Date('2026-12-02T08:03:00.123Z'))).toBe('web-01-serial-2026-12-02T08-03-00.log');
  });
});
