import { memo } from 'react';
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

export function AssistantMessage({ message }: { message: HistoryMessage }) {
  return (
    <article className="message message-assistant" aria-label="FixThread answered">
      <span className="avatar" aria-hidden="true" />
      <div className="answer">
        <MarkdownAnswer text={message.content} />
        {message.stopped && <StoppedMarker />}
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
    a.timestamp === b.timestamp &&
    (a.sources === b.sources || JSON.stringify(a.sources) === JSON.stringify(b.sources))
  );
}

/**
 * A stored message never changes, so it renders once: the history above a streaming reply (re-rendered every
 * frame) does not re-render, and its Markdown is not parsed again, even if a refetch hands over new objects.
 */
export const ChatMessage = memo(function ChatMessage({ message }: { message: HistoryMessage }) {
  return message.role === 'user' ? <UserMessage content={message.content} /> : <AssistantMessage message={message} />;
}, (previous, next) => sameMessage(previous.message, next.message));
