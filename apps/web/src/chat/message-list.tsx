import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { AnswerAnnouncer } from './answer-announcer';
import { ChatMessage, messageElementId, UserMessage, type MessageHandlers } from './chat-message';
import { editableQuestionIn, questionBefore, type ChatTurn, type Conversation } from './conversation';
import { EmptyState } from './empty-state';
import { StreamingAnswer } from './streaming-answer';
import { spokenSoFar } from './spoken-parts';
import { TurnError } from './turn-error';
import { useAutoScroll } from './use-auto-scroll';

/** Scrolled this close to the top, the page before is loaded. */
const LOAD_OLDER_PX = 240;
/** How long a message opened from a search result stays highlighted. */
const HIGHLIGHT_MS = 4_000;

interface MessageListProps {
  conversation: Conversation;
  turn: ChatTurn | null;
  /** The answer that just finished streaming, whose last paragraph is still to be announced. */
  answeredId: number | null;
  loading: boolean;
  /** The server has messages older than those shown. */
  hasOlder: boolean;
  loadingOlder: boolean;
  olderFailed: boolean;
  /** Loads the page before the oldest message shown; resolves with whether it did. */
  onLoadOlder: () => Promise<boolean>;
  /** A stored message to bring into view and highlight (a search result), loading older pages until it is shown. */
  target: number | null;
  /** The target is shown (true), or isn't in the thread any more (false). */
  onTargetHandled: (found: boolean) => void;
  /** Fetches the latest page again: a target newer than the cached history means the cache is behind. */
  onRefresh: () => Promise<unknown>;
  onPickSuggestion: (question: string) => void;
  /** Re-sends an interrupted reply's question as a new message; stable (see ChatMessage). */
  onAskAgain: (question: string) => void;
  onRetry: () => void;
  onDismiss: () => void;
  /** Regenerates the last answer; stable. */
  onRegenerate: () => void;
  /** Replaces the last question with this one and answers it; false if it couldn't start. Stable. */
  onEdit: (message: string) => boolean;
}

/** Where the oldest message shown sat in the scrolled content, so prepending a page doesn't move the view. */
interface ScrollAnchor {
  id: number;
  offset: number;
}

function contentOffset(scroller: HTMLElement, element: HTMLElement): number {
  return element.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop;
}

export function MessageList({
  conversation,
  turn,
  answeredId,
  loading,
  hasOlder,
  loadingOlder,
  olderFailed,
  onLoadOlder,
  target,
  onTargetHandled,
  onRefresh,
  onPickSuggestion,
  onAskAgain,
  onRetry,
  onDismiss,
  onRegenerate,
  onEdit,
}: MessageListProps) {
  const { messages, pendingQuestion } = conversation;
  // The newest message, not the count: a page of older messages put in front is not news at the bottom.
  const signature = [messages.at(-1)?.id, pendingQuestion, turn?.text.length, turn?.status, turn?.phase].join('|');
  const { ref, onScroll: followScroll, hasUnseen, scrollToBottom } = useAutoScroll<HTMLDivElement>(signature, pendingQuestion);
  const empty = messages.length === 0 && !pendingQuestion && !turn;
  const streaming = turn?.phase === 'streaming';
  const [editing, setEditing] = useState(false);
  const [highlightId, setHighlightId] = useState<number | null>(null);
  // The target the history was refetched for, once it was not among the messages at first.
  const [refreshedFor, setRefreshedFor] = useState<number | null>(null);
  const anchor = useRef<ScrollAnchor | null>(null);
  // Screen readers hear a streaming answer a paragraph at a time, and the rest of it once it is stored.
  const spoken = streaming
    ? spokenSoFar(turn.text, false)
    : spokenSoFar(messages.find((message) => message.id === answeredId)?.content ?? '', true);

  const last = messages.at(-1);
  const lastAnswerId = last?.role === 'assistant' ? last.id : null;
  const lastQuestionId = editableQuestionIn(messages)?.id ?? null;
  const busy = turn !== null;
  const firstId = messages[0]?.id;

  const handlers = useMemo<MessageHandlers>(
    () => ({
      regenerate: onRegenerate,
      startEdit: () => setEditing(true),
      cancelEdit: () => setEditing(false),
      saveEdit: (message) => {
        if (onEdit(message)) setEditing(false);
      },
    }),
    [onRegenerate, onEdit],
  );

  const loadOlder = useCallback(() => {
    const scroller = ref.current;
    const first = firstId === undefined ? null : document.getElementById(messageElementId(firstId));
    anchor.current = scroller && first && firstId !== undefined ? { id: firstId, offset: contentOffset(scroller, first) } : null;
    return onLoadOlder();
  }, [ref, firstId, onLoadOlder]);

  // A page put in front pushes everything down: scroll by as much, so what the user was reading stays put.
  useLayoutEffect(() => {
    const saved = anchor.current;
    const scroller = ref.current;
    if (!saved || !scroller || firstId === saved.id) return;
    anchor.current = null;
    const element = document.getElementById(messageElementId(saved.id));
    if (element) scroller.scrollTop += contentOffset(scroller, element) - saved.offset;
  }, [ref, firstId]);

  const onScroll = () => {
    followScroll();
    const scroller = ref.current;
    if (scroller && scroller.scrollTop < LOAD_OLDER_PX && hasOlder && !loadingOlder && !olderFailed) void loadOlder();
  };

  // A search result: bring the message into view, loading older pages until it is there.
  useEffect(() => {
    if (target === null || loading) return;
    if (messages.some((message) => message.id === target)) {
      document.getElementById(messageElementId(target))?.scrollIntoView({ block: 'center' });
      setHighlightId(target);
      onTargetHandled(true);
      return;
    }
    if (loadingOlder) return;
    if (hasOlder && !olderFailed) {
      void onLoadOlder().then((loaded) => {
        if (!loaded) onTargetHandled(false);
      });
      return;
    }
    // All of the cached history is shown and the message isn't in it: the cache may be behind (the message was
    // written since, elsewhere). Look once more before saying it is gone.
    if (refreshedFor === target) return onTargetHandled(false);
    void onRefresh().finally(() => setRefreshedFor(target));
  }, [target, loading, messages, hasOlder, loadingOlder, olderFailed, onLoadOlder, onTargetHandled, onRefresh, refreshedFor]);

  useEffect(() => {
    if (highlightId === null) return;
    // Once it is focusable (see ChatMessage), and after the composer took the focus on mounting: a screen reader
    // reads the message the user asked for.
    document.getElementById(messageElementId(highlightId))?.focus({ preventScroll: true });
    const timer = setTimeout(() => setHighlightId(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [highlightId]);

  // A reply that starts (here or from another tab's action) closes the editor.
  useEffect(() => {
    if (busy) setEditing(false);
  }, [busy]);

  return (
    <>
      <div className="message-scroller" ref={ref} onScroll={onScroll}>
        <div className="message-column">
          {loading && (
            <p className="muted loading-history" role="status">
              Loading your conversation…
            </p>
          )}
          {!loading && hasOlder && (
            <div className="older-messages">
              {loadingOlder ? (
                <p className="muted" role="status">
                  <span className="spinner" aria-hidden="true" /> Loading older messages…
                </p>
              ) : (
                <>
                  {olderFailed && <p className="field-error">Couldn’t load older messages.</p>}
                  <button type="button" className="button button-quiet" onClick={() => void loadOlder()}>
                    {olderFailed ? 'Try again' : 'Load older messages'}
                  </button>
                </>
              )}
            </div>
          )}
          {!loading && empty && <EmptyState onPick={onPickSuggestion} />}
          {messages.map((message, index) => {
            const question = message.interrupted ? questionBefore(messages, index) : undefined;
            const askAgain = question === undefined ? undefined : { question, busy: streaming, onAsk: onAskAgain };
            const lastQuestion = message.id === lastQuestionId;
            const lastAnswer = message.id === lastAnswerId;
            const options = {
              handlers,
              lastAnswer,
              lastQuestion,
              // Only where it disables something: the rest of the history doesn't re-render when a turn starts.
              busy: busy && (lastAnswer || lastQuestion),
              editing: lastQuestion && editing && !busy,
              highlighted: message.id === highlightId,
            };
            return <ChatMessage key={message.id} message={message} askAgain={askAgain} options={options} />;
          })}
          {pendingQuestion !== null && (
            <UserMessage
              content={pendingQuestion}
              note={turn?.phase === 'failed' ? 'Not answered' : undefined}
              attachments={turn?.attachments}
            />
          )}
          {turn?.phase === 'streaming' && <StreamingAnswer turn={turn} />}
          {turn?.phase === 'failed' && turn.error && (
            <TurnError error={turn.error} onRetry={onRetry} onDismiss={onDismiss} />
          )}
        </div>
        {hasUnseen && (
          <button type="button" className="jump-to-latest" onClick={scrollToBottom}>
            <span aria-hidden="true">↓</span> Latest
          </button>
        )}
      </div>
      {/* Outside the scroller: a visually hidden box positioned inside it could stretch the page. */}
      <AnswerAnnouncer spoken={spoken} />
    </>
  );
}
