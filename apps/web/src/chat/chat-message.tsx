import { memo, useId } from 'react';
import type { HistoryMessage } from '../api-types';
import { MarkdownAnswer } from './markdown-answer';
import { SourceLinks } from './source-links';

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

function timeOf(timestamp: string): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? '' : timeFormat.format(date);
}

export function UserMessage({ content, note }: { content: string; note?: string }) {
  return (
    <article className="message message-user" aria-label="You said">
      <div className="bubble">{content}</div>
      {note && <p className="message-note">{note}</p>}
    </article>
  );
}

export function StoppedMarker() {
  return (
    <p className="stopped-marker">
      <span aria-hidden="true">■</span> Stopped
    </p>
  );
}

export interface AskAgain {
  /** The question the reply answers, sent again as a new message. */
  question: string;
  /** A reply is streaming: the question waits its turn, so the button does too. */
  busy: boolean;
  onAsk: (question: string) => void;
}

/** The server running the turn died: the reply is only what had streamed, so the question may be asked again. */
export function InterruptedMarker({ askAgain }: { askAgain: AskAgain | undefined }) {
  const noteId = useId();
  return (
    <div className="interrupted-marker">
      <p id={noteId}>
        <span aria-hidden="true">⚠</span> Interrupted — the server restarted while answering.
      </p>
      {askAgain && (
        <button
          type="button"
          className="button"
          aria-describedby={noteId}
          disabled={askAgain.busy}
          onClick={() => askAgain.onAsk(askAgain.question)}
        >
          Ask again
        </button>
      )}
    </div>
  );
}

export function AssistantMessage({ message, askAgain }: { message: HistoryMessage; askAgain?: AskAgain }) {
  return (
    <article className="message message-assistant" aria-label="FixThread answered">
      <span className="avatar" aria-hidden="true" />
      <div className="answer">
        <MarkdownAnswer text={message.content} />
        {message.stopped && <StoppedMarker />}
        {message.interrupted && <InterruptedMarker askAgain={askAgain} />}
        <SourceLinks sources={message.sources} />
        <time className="message-time" dateTime={message.timestamp}>
          {timeOf(message.timestamp)}
        </time>
      </div>
    </article>
  );
}

/** Everything a stored message renders from. */
function sameMessage(a: HistoryMessage, b: HistoryMessage): boolean {
  return (
    a.id === b.id &&
    a.role === b.role &&
    a.content === b.content &&
    a.stopped === b.stopped &&
    a.interrupted === b.interrupted &&
    a.timestamp === b.timestamp &&
    (a.sources === b.sources || JSON.stringify(a.sources) === JSON.stringify(b.sources))
  );
}

function sameAskAgain(a: AskAgain | undefined, b: AskAgain | undefined): boolean {
  return a === b || (a?.question === b?.question && a?.busy === b?.busy && a?.onAsk === b?.onAsk);
}

interface ChatMessageProps {
  message: HistoryMessage;
  /** Offered on interrupted replies only; `onAsk` must be stable, or they would re-render every frame. */
  askAgain?: AskAgain;
}

/**
 * A stored message never changes, so it renders once: the history above a streaming reply (re-rendered every
 * frame) does not re-render, and its Markdown is not parsed again, even if a refetch hands over new objects.
 */
export const ChatMessage = memo(function ChatMessage({ message, askAgain }: ChatMessageProps) {
  return message.role === 'user' ? (
    <UserMessage content={message.content} />
  ) : (
    <AssistantMessage message={message} askAgain={askAgain} />
  );
}, (previous, next) => sameMessage(previous.message, next.message) && sameAskAgain(previous.askAgain, next.askAgain));
