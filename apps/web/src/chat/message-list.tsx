import { AnswerAnnouncer } from './answer-announcer';
import { questionBefore, type ChatTurn, type Conversation } from './conversation';
import { ChatMessage, UserMessage } from './chat-message';
import { EmptyState } from './empty-state';
import { StreamingAnswer } from './streaming-answer';
import { spokenSoFar } from './spoken-parts';
import { TurnError } from './turn-error';
import { useAutoScroll } from './use-auto-scroll';

interface MessageListProps {
  conversation: Conversation;
  turn: ChatTurn | null;
  /** The answer that just finished streaming, whose last paragraph is still to be announced. */
  answeredId: number | null;
  loading: boolean;
  onPickSuggestion: (question: string) => void;
  /** Re-sends an interrupted reply's question as a new message; stable (see ChatMessage). */
  onAskAgain: (question: string) => void;
  onRetry: () => void;
  onDismiss: () => void;
}

export function MessageList({
  conversation,
  turn,
  answeredId,
  loading,
  onPickSuggestion,
  onAskAgain,
  onRetry,
  onDismiss,
}: MessageListProps) {
  const { messages, pendingQuestion } = conversation;
  const signature = [messages.length, pendingQuestion, turn?.text.length, turn?.status, turn?.phase].join('|');
  const { ref, onScroll, hasUnseen, scrollToBottom } = useAutoScroll<HTMLDivElement>(signature, pendingQuestion);
  const empty = messages.length === 0 && !pendingQuestion && !turn;
  const streaming = turn?.phase === 'streaming';
  // Screen readers hear a streaming answer a paragraph at a time, and the rest of it once it is stored.
  const spoken = streaming
    ? spokenSoFar(turn.text, false)
    : spokenSoFar(messages.find((message) => message.id === answeredId)?.content ?? '', true);

  return (
    <>
      <div className="message-scroller" ref={ref} onScroll={onScroll}>
        <div className="message-column">
          {loading && (
            <p className="muted loading-history" role="status">
              Loading your conversation…
            </p>
          )}
          {!loading && empty && <EmptyState onPick={onPickSuggestion} />}
          {messages.map((message, index) => {
            const question = message.interrupted ? questionBefore(messages, index) : undefined;
            const askAgain = question === undefined ? undefined : { question, busy: streaming, onAsk: onAskAgain };
            return <ChatMessage key={message.id} message={message} askAgain={askAgain} />;
          })}
          {pendingQuestion && (
            <UserMessage content={pendingQuestion} note={turn?.phase === 'failed' ? 'Not answered' : undefined} />
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
