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

export function ChatMessage({ message }: { message: HistoryMessage }) {
  return message.role === 'user' ? <UserMessage content={message.content} /> : <AssistantMessage message={message} />;
}
