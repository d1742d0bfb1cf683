// Files dragged onto the app: whether a drag carries files, and the dropped file's name and text.
import type { UiError } from './generated';

/** A dropped file read as text (a kubeconfig, in the Clusters screen). */
export interface DroppedFile {
  name: string;
  text: string;
}

/** True when the drag carries files (not text or a link dragged from the page). */
export function carriesFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}

/** The first dropped file's text; a folder or an unreadable file rejects with `file_unreadable`. */
export async function readDroppedFile(event: DragEvent): Promise<DroppedFile | null> {
  const file = event.dataTransfer?.files[0];
  if (!file) return null;
  try {
    return { name: file.name, text: await file.text() };
  } catch (reason) {
    const error: UiError = {
      code: 'file_unreadable',
      message: `“${file.name}” could not be read (${String(reason)}); drop the kubeconfig file itself, or paste its text`,
      field: null,
    };
    throw error;
  }
}

/**
 * Counts nested dragenter/dragleave pairs so a drop target stays lit while the pointer moves
 * over child elements, and goes dark when the drag leaves the window or ends.
 */
export class DragDepth {
  private depth = 0;

  get inside(): boolean {
    return this.depth > 0;
  }

  /** On dragenter; returns whether the drag is inside. */
  enter(): boolean {
    this.depth += 1;
    return this.inside;
  }

  /** On dragleave; returns whether the drag is still inside (over another element). */
  leave(): boolean {
    this.depth = Math.max(0, this.depth - 1);
    return this.inside;
  }

  /** On drop or dragend. */
  reset(): boolean {
    this.depth = 0;
    return this.inside;
  }
}
