// Dropped kubeconfig files: which drags count, reading the file, and the drop target's lit state.
import { describe, expect, it } from 'vitest';
import { carriesFiles, DragDepth, readDroppedFile } from '../../src/lib/fileDrop';

/** Just the parts of a DragEvent the helpers read (node has no DragEvent). */
function dragOf(types: string[], files: File[] = []): DragEvent {
  return { dataTransfer: { types, files } } as unknown as DragEvent;
}

describe('dropped files', () => {
  it('only file drags count', () => {
    expect(carriesFiles(dragOf(['Files']))).toBe(true);
    expect(carriesFiles(dragOf(['text/plain', 'text/uri-list']))).toBe(false);
    expect(carriesFiles({ dataTransfer: null } as unknown as DragEvent)).toBe(false);
  });

  it('reads the first file as text', async () => {
    const file = new File(['apiVersion: v1\nkind: Config\n'], 'lab.yaml');
    await expect(readDroppedFile(dragOf(['Files'], [file]))).resolves.toEqual({
      name: 'lab.yaml',
      text: 'apiVersion: v1\nkind: Config\n',
    });
    await expect(readDroppedFile(dragOf(['Files'], []))).resolves.toBeNull();
  });

  it('an unreadable file rejects with file_unreadable', async () => {
    const broken = { name: 'folder', text: () => Promise.reject(new Error('NotReadableError')) } as unknown as File;
    await expect(readDroppedFile(dragOf(['Files'], [broken]))).rejects.toMatchObject({ code: 'file_unreadable', field: null });
  });

  it('the target stays lit over child elements and goes dark on leaving or dropping', () => {
    const depth = new DragDepth();
    expect(depth.enter()).toBe(true); // the screen
    expect(depth.enter()).toBe(true); // a card inside it
    expect(depth.leave()).toBe(true); // left the card, still on the screen
    expect(depth.leave()).toBe(false); // left the window
    expect(depth.leave()).toBe(false); // never below zero
    expect(depth.enter()).toBe(true);
    expect(depth.reset()).toBe(false);
    expect(depth.inside).toBe(false);
  });
});
