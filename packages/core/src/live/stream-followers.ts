import type { LiveBatch, LiveFollower, LiveRead } from './live-events';
import type { RedisClient } from './redis-client';
import { decodeEntry, type EntryFields } from './stream-entries';
import { within } from './within';

interface StreamMessage {
  id: string;
  message: EntryFields;
}
interface KeyState {
  /** The newest entry the shared read has passed; undefined until a catch-up says where the stream ends. */
  lastId: string | undefined;
  followers: Set<StreamFollower>;
}

/** How long one XREAD blocks before it is issued again (with any keys added meanwhile it is woken at once). */
const BLOCK_MS = 5_000;
const ENTRIES_PER_READ = 500;
const RETRY_MS = 250;

/**
 * Every turn this instance follows, read over ONE blocking connection: a single `XREAD BLOCK` names all their
 * streams, so a thousand readers of remote turns cost one connection, not a thousand. A new follower first
 * reads its stream so far (XRANGE on the command connection), then gets what the shared read sees after it;
 * when its stream is new to the read, an entry on this instance's own wake stream makes the blocked XREAD
 * return, so it is named from the next one on. If Redis goes away, followers are told (they fall back to
 * the database) and catch up again once it is back, since a restarted Redis has lost what it had.
 */
export class StreamFollowers {
  private readonly keys = new Map<string, KeyState>();
  private wakeId = '0-0';
  private running: Promise<void> | undefined;
  private closed = false;
  private whenFollowed: (() => void) | undefined;

  constructor(
    private readonly io: { blocking: RedisClient; command: RedisClient; wakeKey: string; timeoutMs: number },
  ) {}

  follow(key: string): LiveFollower {
    let state = this.keys.get(key);
    if (!state) {
      state = { lastId: undefined, followers: new Set() };
      this.keys.set(key, state);
    }
    const keyState = state;
    const follower = new StreamFollower(() => {
      keyState.followers.delete(follower);
      if (keyState.followers.size === 0 && this.keys.get(key) === keyState) this.keys.delete(key);
    });
    keyState.followers.add(follower);
    void this.catchUp(key, keyState, follower);
    this.running ??= this.run();
    this.whenFollowed?.();
    return follower;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.whenFollowed?.();
    for (const state of this.keys.values()) for (const follower of state.followers) follower.lost();
    await this.running;
  }

  private async catchUp(key: string, state: KeyState, follower: StreamFollower): Promise<void> {
    follower.catchingUp = true;
    try {
      const messages = (await within(this.io.command.xRange(key, '-', '+'), this.io.timeoutMs)) as StreamMessage[];
      if (follower.closed) return;
      follower.caughtUpWith(messages.map((entry) => decodeEntry(entry.message)));
      if (state.lastId === undefined) {
        state.lastId = messages.at(-1)?.id ?? '0-0';
        await within(this.io.command.xAdd(this.io.wakeKey, '*', { k: key }, WAKE_TRIM), this.io.timeoutMs);
      }
    } catch {
      follower.lost();
    } finally {
      follower.catchingUp = false;
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.keys.size === 0) {
        await new Promise<void>((resolve) => (this.whenFollowed = resolve));
        this.whenFollowed = undefined;
        continue;
      }
      const behind = [...this.keys].flatMap(([key, state]) =>
        [...state.followers].filter((f) => !f.caughtUp && !f.catchingUp).map((f) => this.catchUp(key, state, f)),
      );
      await Promise.all(behind);
      const streams = [...this.keys]
        .filter(([, state]) => state.lastId !== undefined)
        .map(([key, state]) => ({ key, id: state.lastId! }));
      streams.push({ key: this.io.wakeKey, id: this.wakeId });
      try {
        const reply: unknown = await this.io.blocking.xRead(streams, { BLOCK: BLOCK_MS, COUNT: ENTRIES_PER_READ });
        const read = reply as { name: string; messages: StreamMessage[] }[] | null;
        for (const { name, messages } of read ?? []) this.dispatch(name, messages);
      } catch {
        if (this.closed) return;
        // Whatever the streams held may be gone (a restart): every follower catches up again once Redis answers.
        for (const state of this.keys.values()) {
          state.lastId = undefined;
          for (const follower of state.followers) follower.lost();
        }
        this.wakeId = '0-0';
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private dispatch(key: string, messages: StreamMessage[]): void {
    const lastId = messages.at(-1)?.id;
    if (!lastId) return;
    if (key === this.io.wakeKey) {
      this.wakeId = lastId;
      return;
    }
    const state = this.keys.get(key);
    if (!state) return;
    state.lastId = lastId;
    const batches = messages.map((entry) => decodeEntry(entry.message));
    for (const follower of state.followers) follower.deliver(batches);
  }
}

const WAKE_TRIM = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: 16 } } as const;

class StreamFollower implements LiveFollower {
  private ready: LiveBatch[] = [];
  /** What the shared read delivered before this follower's own catch-up finished; it goes after it. */
  private early: LiveBatch[] = [];
  private wake: (() => void) | undefined;
  caughtUp = false;
  catchingUp = false;
  unavailable = false;
  closed = false;

  constructor(private readonly onClose: () => void) {}

  deliver(batches: LiveBatch[]): void {
    if (this.caughtUp) this.ready.push(...batches);
    else this.early.push(...batches);
    this.wake?.();
  }

  caughtUpWith(batches: LiveBatch[]): void {
    this.ready.push(...batches, ...this.early);
    this.early = [];
    this.caughtUp = true;
    this.unavailable = false;
    this.wake?.();
  }

  lost(): void {
    this.caughtUp = false;
    this.early = [];
    this.unavailable = true;
    this.wake?.();
  }

  async next(idleMs: number, signal?: AbortSignal): Promise<LiveRead> {
    if (this.ready.length === 0 && !this.unavailable && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, idleMs);
        signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    if (this.ready.length > 0) {
      const batches = this.ready;
      this.ready = [];
      return { kind: 'batches', batches };
    }
    return this.unavailable ? { kind: 'unavailable' } : { kind: 'idle' };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
