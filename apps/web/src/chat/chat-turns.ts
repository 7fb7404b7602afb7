import type { DoneEvent, History, HistoryMessage, StreamEnvelope } from '../api-types';
import { storageKey, type ThreadKey } from '../threads/thread-key';
import type { MessageAttachment } from './attachments/attachment-types';
import { newClientMessageId } from './client-message-id';
import {
  editableQuestion,
  hasStoredQuestion,
  lastMessageId,
  regenerableAnswer,
  type ChatTurn,
  type TurnKind,
} from './conversation';
import { describeError } from './describe-error';
import { frameBatcher, type FrameBatcher, type FrameClock } from './frame-batcher';

/** One thread's turn as the view shows it; replaced (never mutated) on every change. */
export interface ThreadTurnState {
  turn: ChatTurn | null;
  /** The stored answer of the last turn that finished here, until the next one starts: its end is still news. */
  answeredId: number | null;
  /** The socket dropped mid-reply; wsLink is reconnecting and will resume the same turn. */
  reconnecting: boolean;
}

export const IDLE: ThreadTurnState = Object.freeze({ turn: null, answeredId: null, reconnecting: false });

/** What a subscription reports, as the tRPC client's observer has it. */
export interface TurnHandlers {
  onData: (envelope: StreamEnvelope) => void;
  onError: (error: unknown) => void;
  onConnectionStateChange: (state: { state: string; error: unknown }) => void;
}

/** The subscription to open: `chat.stream`, `chat.regenerate` or `chat.edit`, on a thread. */
export interface TurnRequest {
  kind: TurnKind;
  threadKey: ThreadKey;
  /** The question (ask, edit); regenerate sends none. */
  message: string;
  clientMessageId: string;
  /** The ids of the photos asked about (ask only: an edit's photos move with the question on the server). */
  attachments?: readonly string[];
}

/** The outside world: the API, and the query cache the turns hand their results to. */
export interface TurnEnvironment {
  /** Opens the subscription; returns what stops its delivery. */
  open: (request: TurnRequest, handlers: TurnHandlers) => () => void;
  /** Asks the server to stop the thread's running reply. */
  stop: (threadKey: ThreadKey) => void;
  /** The thread's history as cached now (the latest page is enough: it holds the newest ids). */
  history: (threadKey: ThreadKey) => History | undefined;
  /** The thread's history fetched again, for Retry. */
  freshHistory: (threadKey: ThreadKey) => Promise<History>;
  /** The first event arrived: the question is stored (the stats can count it). */
  started: (threadKey: ThreadKey) => void;
  /** The reply is saved: put it in the history cache and refresh what it changed. */
  finished: (threadKey: ThreadKey, turn: ChatTurn, questionId: number, answer: HistoryMessage) => void;
  /** The turn failed: what the server stored is to be refetched. */
  failed: (threadKey: ThreadKey) => void;
  /** The session ended mid-turn. */
  unauthorized: (detail: string) => void;
  clock?: FrameClock;
  now?: () => Date;
}

interface ThreadRuntime {
  key: ThreadKey;
  state: ThreadTurnState;
  /** Every token received so far; `state.turn.text` lags behind it until the next frame. */
  text: string;
  questionCounted: boolean;
  /** The error of the last failed (re)connection attempt, for Stop while reconnecting. */
  connectionError: unknown;
  /** Stops the open subscription's delivery. */
  close: (() => void) | null;
  /** Bumped on every start, so a closed subscription's late events are ignored. */
  generation: number;
  batcher: FrameBatcher;
}

/**
 * The turns of every thread of one signed-in user, each thread with its own question → streamed answer at a
 * time. It lives above the views: switching threads while a reply streams leaves that stream running (and
 * saved into its own thread's cache), and nothing of it reaches another thread. Views read a thread's state
 * with `get` (a stable object until it changes) and re-render on `subscribe`.
 *
 * Tokens collect per thread and reach the view at most once per animation frame; whatever follows tokens (a
 * status line, `done`, an error) applies after them, so none is lost or shown twice.
 */
export class ChatTurns {
  private readonly threads = new Map<string, ThreadRuntime>();
  private readonly listeners = new Set<() => void>();
  private streamingSnapshot: ReadonlySet<string> = new Set();

  constructor(private readonly env: TurnEnvironment) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get(key: ThreadKey): ThreadTurnState {
    return this.threads.get(storageKey(key))?.state ?? IDLE;
  }

  /** The storage keys (see thread-key) of the threads a reply streams on; the same Set until that changes. */
  streaming = (): ReadonlySet<string> => this.streamingSnapshot;

  /**
   * Asks a new question under a new clientMessageId, with the photos uploaded for it. False when the thread
   * is busy with a reply.
   */
  send(key: ThreadKey, message: string, attachments: readonly MessageAttachment[] = []): boolean {
    if (this.isStreaming(key)) return false;
    this.start(key, {
      kind: 'ask',
      message,
      attachments,
      clientMessageId: newClientMessageId(),
      afterId: lastMessageId(this.env.history(key)),
      replacesFromId: null,
    });
    return true;
  }

  /** Answers the thread's last question again, replacing its last answer. */
  regenerate(key: ThreadKey): boolean {
    if (this.isStreaming(key)) return false;
    const history = this.env.history(key);
    const answer = regenerableAnswer(history);
    if (!answer) return false;
    const question = history?.messages.findLast((message) => message.role === 'user' && message.id < answer.id);
    this.start(key, {
      kind: 'regenerate',
      message: question?.content ?? '',
      clientMessageId: newClientMessageId(),
      afterId: lastMessageId(history),
      replacesFromId: answer.id,
    });
    return true;
  }

  /** Replaces the thread's last question (and its answer) with `message`, and answers it. */
  edit(key: ThreadKey, message: string): boolean {
    if (this.isStreaming(key)) return false;
    const history = this.env.history(key);
    const question = editableQuestion(history);
    if (!question) return false;
    this.start(key, {
      kind: 'edit',
      message,
      attachments: question.attachments,
      clientMessageId: newClientMessageId(),
      afterId: lastMessageId(history),
      replacesFromId: question.id,
    });
    return true;
  }

  stop(key: ThreadKey): void {
    const runtime = this.threads.get(storageKey(key));
    if (runtime?.state.turn?.phase !== 'streaming') return;
    this.env.stop(key);
    // Nothing will arrive over a dead socket: give up on the live reply; the saved one shows after a refetch.
    if (runtime.state.reconnecting) this.fail(runtime, runtime.connectionError);
  }

  async retry(key: ThreadKey): Promise<void> {
    const runtime = this.threads.get(storageKey(key));
    const failed = runtime?.state.turn;
    if (!runtime || !failed || failed.phase !== 'failed') return;
    const generation = runtime.generation;
    let fresh: History;
    try {
      fresh = await this.env.freshHistory(key);
    } catch (error) {
      if (runtime.generation === generation && runtime.state.turn === failed) {
        this.update(runtime, { turn: { ...failed, error: describeError(error) } });
      }
      return;
    }
    // Dismissed, or another turn began, while the history loaded.
    if (runtime.generation !== generation || runtime.state.turn !== failed) return;
    const connectionLost = failed.error?.kind === 'connection';
    // Once the server has stored the question and answered with an error, that error is final for the key (it
    // would answer the same key with it again), so asking again takes a new one; the stored question stays.
    // A regenerate stores no question, so asking again can't double anything.
    if (!connectionLost && (failed.kind === 'regenerate' || hasStoredQuestion(fresh, failed))) {
      return this.startAgain(runtime, failed, fresh);
    }
    // Otherwise the same key: the server answers with the turn it already has (a lost connection doesn't mean a
    // lost turn: its reply is replayed), or starts it if it never did. Either way the question is stored once.
    this.start(key, { ...failed });
  }

  dismiss(key: ThreadKey): void {
    const runtime = this.threads.get(storageKey(key));
    if (!runtime) return;
    this.closeStream(runtime);
    runtime.batcher.cancel();
    this.update(runtime, { turn: null, answeredId: null, reconnecting: false });
  }

  /** Forgets a thread (it was deleted or cleared): its stream stops delivering and its state goes. */
  forget(key: ThreadKey): void {
    const runtime = this.threads.get(storageKey(key));
    if (!runtime) return;
    this.closeStream(runtime);
    runtime.batcher.cancel();
    this.threads.delete(storageKey(key));
    this.emit();
  }

  /** Signing out: every stream stops delivering (the server still finishes and saves each turn). */
  closeAll(): void {
    for (const runtime of this.threads.values()) {
      this.closeStream(runtime);
      runtime.batcher.cancel();
    }
    this.threads.clear();
    this.emit();
  }

  private isStreaming(key: ThreadKey): boolean {
    return this.get(key).turn?.phase === 'streaming';
  }

  /** A new attempt after a final failure: same kind of turn, new key, measured against the fresh history. */
  private startAgain(runtime: ThreadRuntime, failed: ChatTurn, fresh: History): void {
    const base = {
      message: failed.message,
      attachments: failed.attachments,
      clientMessageId: newClientMessageId(),
      afterId: lastMessageId(fresh),
    };
    // Its photos went with the stored question and can't go with another: that question is answered again.
    if (failed.kind === 'ask' && failed.attachments?.length) {
      return this.start(runtime.key, { ...base, kind: 'regenerate', replacesFromId: null });
    }
    if (failed.kind === 'ask') return this.start(runtime.key, { ...base, kind: 'ask', replacesFromId: null });
    if (failed.kind === 'edit') {
      // The stored edited question is now the last one: editing it again replaces it instead of adding another.
      const question = editableQuestion(fresh);
      if (question) return this.start(runtime.key, { ...base, kind: 'edit', replacesFromId: question.id });
      return this.start(runtime.key, { ...base, kind: 'ask', replacesFromId: null });
    }
    // Regenerate: if the old answer is gone already, the new one simply follows the question.
    this.start(runtime.key, { ...base, kind: 'regenerate', replacesFromId: regenerableAnswer(fresh)?.id ?? null });
  }

  private runtimeFor(key: ThreadKey): ThreadRuntime {
    const id = storageKey(key);
    let runtime = this.threads.get(id);
    if (!runtime) {
      const created: ThreadRuntime = {
        key,
        state: IDLE,
        text: '',
        questionCounted: false,
        connectionError: null,
        close: null,
        generation: 0,
        batcher: frameBatcher(() => {
          const turn = created.state.turn;
          if (turn) this.update(created, { turn: { ...turn, text: created.text, status: null } });
        }, this.env.clock),
      };
      runtime = created;
      this.threads.set(id, runtime);
    }
    return runtime;
  }

  private start(key: ThreadKey, attempt: Omit<ChatTurn, 'text' | 'status' | 'phase' | 'error'>): void {
    const runtime = this.runtimeFor(key);
    this.closeStream(runtime);
    runtime.batcher.cancel();
    runtime.text = '';
    runtime.questionCounted = false;
    runtime.connectionError = null;
    const generation = ++runtime.generation;
    const turn: ChatTurn = { ...attempt, text: '', status: null, phase: 'streaming', error: null };
    this.update(runtime, { turn, answeredId: null, reconnecting: false });

    const live = () => runtime.generation === generation && this.threads.get(storageKey(key)) === runtime;
    const close = this.env.open(
      {
        kind: turn.kind,
        threadKey: key,
        message: turn.message,
        clientMessageId: turn.clientMessageId,
        ...(turn.kind === 'ask' && turn.attachments?.length ? { attachments: turn.attachments.map((photo) => photo.id) } : {}),
      },
      {
        onData: (envelope) => {
          if (live()) this.onData(runtime, envelope);
        },
        onError: (error) => {
          if (live()) this.onError(runtime, error);
        },
        onConnectionStateChange: ({ state, error }) => {
          if (!live()) return;
          const reconnecting = state === 'connecting' && error != null;
          if (reconnecting) runtime.connectionError = error;
          if (reconnecting !== runtime.state.reconnecting && runtime.state.turn?.phase === 'streaming') {
            this.update(runtime, { reconnecting });
          }
        },
      },
    );
    // Still this attempt's stream, unless it ended (done, an error) before `open` returned.
    if (live()) runtime.close = close;
    else close();
  }

  private onData(runtime: ThreadRuntime, { data: event }: StreamEnvelope): void {
    if (runtime.state.reconnecting) this.update(runtime, { reconnecting: false });
    if (!runtime.questionCounted) {
      runtime.questionCounted = true;
      this.env.started(runtime.key);
    }
    if (event.type === 'token') {
      runtime.text += event.content;
      return runtime.batcher.schedule();
    }
    runtime.batcher.flushNow();
    if (event.type === 'done') return this.finish(runtime, event);
    const turn = runtime.state.turn;
    if (turn) this.update(runtime, { turn: { ...turn, status: event.content } });
  }

  private finish(runtime: ThreadRuntime, done: DoneEvent): void {
    const turn = runtime.state.turn;
    if (!turn) return;
    const answer: HistoryMessage = {
      id: done.message_id,
      role: 'assistant',
      content: runtime.text,
      timestamp: (this.env.now?.() ?? new Date()).toISOString(),
      sources: done.sources,
      stopped: done.stopped,
      interrupted: done.interrupted,
      attachments: [],
    };
    this.closeStream(runtime);
    // The cache first: the view swaps the streaming answer for the stored one in a single render.
    this.env.finished(runtime.key, { ...turn, text: runtime.text }, done.user_message_id, answer);
    this.update(runtime, { turn: null, answeredId: answer.id, reconnecting: false });
  }

  private onError(runtime: ThreadRuntime, error: unknown): void {
    runtime.batcher.flushNow();
    const described = describeError(error);
    if (described.kind === 'unauthorized') return this.env.unauthorized(described.detail);
    this.fail(runtime, error);
  }

  private fail(runtime: ThreadRuntime, error: unknown): void {
    runtime.batcher.flushNow();
    this.closeStream(runtime);
    const turn = runtime.state.turn;
    if (!turn) return;
    this.update(runtime, { turn: { ...turn, phase: 'failed', status: null, error: describeError(error) }, reconnecting: false });
    this.env.failed(runtime.key);
  }

  private closeStream(runtime: ThreadRuntime): void {
    const close = runtime.close;
    runtime.close = null;
    // Late events of the closed stream must not touch the next one.
    runtime.generation++;
    close?.();
  }

  private update(runtime: ThreadRuntime, patch: Partial<ThreadTurnState>): void {
    runtime.state = { ...runtime.state, ...patch };
    this.emit();
  }

  private emit(): void {
    const streaming = [...this.threads.entries()].filter(([, runtime]) => runtime.state.turn?.phase === 'streaming').map(([id]) => id);
    const changed = streaming.length !== this.streamingSnapshot.size || streaming.some((id) => !this.streamingSnapshot.has(id));
    if (changed) this.streamingSnapshot = new Set(streaming);
    for (const listener of this.listeners) listener();
  }
}
