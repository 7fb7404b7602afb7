import { UPLOAD_PATH } from './upload-attachment';

export type ImageVariant = 'thumbnail' | 'full';

/** How long an image nobody shows is kept: a re-render, a thread switched back to, reuses it. */
const RELEASE_DELAY_MS = 15_000;

/** Where a stored photo is served (bearer auth, owner only). */
export function attachmentUrl(id: string, variant: ImageVariant): string {
  const path = `${UPLOAD_PATH}/${encodeURIComponent(id)}`;
  return variant === 'thumbnail' ? `${path}/thumbnail` : path;
}

export interface ImageState {
  url: string | null;
  failed: boolean;
}

interface Entry {
  state: ImageState;
  refs: number;
  listeners: Set<() => void>;
  timer: ReturnType<typeof setTimeout> | null;
  abort: AbortController | null;
}

/**
 * Blob URLs of stored photos, one per token, id and variant. An <img> can't send the bearer header, so each
 * image is fetched with it once and shown from memory; it is revoked once nothing has shown it for a while.
 */
export class AttachmentImages {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly fetchImage: typeof fetch = (...args) => fetch(...args)) {}

  /** Starts showing an image: loads it unless it is held already. Pair with `release`. */
  acquire(token: string, id: string, variant: ImageVariant): ImageState {
    const key = keyOf(token, id, variant);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { state: { url: null, failed: false }, refs: 0, listeners: new Set(), timer: null, abort: null };
      this.entries.set(key, entry);
      this.load(key, entry, token, id, variant);
    }
    entry.refs++;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    return entry.state;
  }

  release(token: string, id: string, variant: ImageVariant): void {
    const key = keyOf(token, id, variant);
    const entry = this.entries.get(key);
    if (!entry || --entry.refs > 0) return;
    entry.timer = setTimeout(() => this.drop(key, entry), RELEASE_DELAY_MS);
  }

  get(token: string, id: string, variant: ImageVariant): ImageState {
    return this.entries.get(keyOf(token, id, variant))?.state ?? { url: null, failed: false };
  }

  subscribe(token: string, id: string, variant: ImageVariant, listener: () => void): () => void {
    const entry = this.entries.get(keyOf(token, id, variant));
    entry?.listeners.add(listener);
    return () => entry?.listeners.delete(listener);
  }

  /**
   * A just-sent photo's local preview (an object URL of the user's file) serves as its thumbnail, so the
   * message shows it at once and the stored copy needn't be downloaded. The cache owns the URL from now on.
   */
  adopt(token: string, id: string, objectUrl: string): void {
    const key = keyOf(token, id, 'thumbnail');
    if (this.entries.has(key)) {
      URL.revokeObjectURL(objectUrl);
      return;
    }
    const entry: Entry = { state: { url: objectUrl, failed: false }, refs: 0, listeners: new Set(), timer: null, abort: null };
    entry.timer = setTimeout(() => this.drop(key, entry), RELEASE_DELAY_MS);
    this.entries.set(key, entry);
  }

  /** A failed image is tried again on the next `acquire`. */
  retry(token: string, id: string, variant: ImageVariant): void {
    const key = keyOf(token, id, variant);
    const entry = this.entries.get(key);
    if (!entry?.state.failed) return;
    this.set(entry, { url: null, failed: false });
    this.load(key, entry, token, id, variant);
  }

  private load(key: string, entry: Entry, token: string, id: string, variant: ImageVariant): void {
    const abort = new AbortController();
    entry.abort = abort;
    void this.fetchImage(attachmentUrl(id, variant), { headers: { Authorization: `Bearer ${token}` }, signal: abort.signal })
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.blob();
      })
      .then(
        (blob) => {
          if (this.entries.get(key) !== entry) return;
          this.set(entry, { url: URL.createObjectURL(blob), failed: false });
        },
        () => {
          if (this.entries.get(key) === entry && !abort.signal.aborted) this.set(entry, { url: null, failed: true });
        },
      )
      .finally(() => {
        if (entry.abort === abort) entry.abort = null;
      });
  }

  private set(entry: Entry, state: ImageState): void {
    entry.state = state;
    for (const listener of entry.listeners) listener();
  }

  private drop(key: string, entry: Entry): void {
    if (entry.refs > 0 || this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    entry.abort?.abort();
    if (entry.state.url) URL.revokeObjectURL(entry.state.url);
  }
}

function keyOf(token: string, id: string, variant: ImageVariant): string {
  return `${variant}\n${id}\n${token}`;
}

/** The page's one cache: images outlive the components showing them, and never the tab. */
export const attachmentImages = new AttachmentImages();
