import { memo, useId } from 'react';
import type { HistoryMessage } from '../api-types';
import type { MessageAttachment } from './attachments/attachment-types';
import { MessageAttachments } from './attachments/message-attachments';
import { MarkdownAnswer } from './markdown-answer';
import { CopyButton, EditIcon, RegenerateIcon } from './message-actions';
import { MessageEditor } from './message-editor';
import { SourceLinks } from './source-links';

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

function timeOf(timestamp: string): string {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? '' : timeFormat.format(date);
}

/** The DOM id of a stored message's element, for links to it (a search result opens its thread there). */
export function messageElementId(id: number): string {
  return `message-${id}`;
}

/** What can be done to a stored message besides copying it. Stable from render to render (see ChatMessage). */
export interface MessageHandlers {
  regenerate: () => void;
  startEdit: () => void;
  cancelEdit: () => void;
  saveEdit: (message: string) => void;
}

/** Which actions a stored message offers: the last answer can be regenerated, the last question edited. */
export interface MessageOptions {
  handlers: MessageHandlers;
  /** The thread's last answer. */
  lastAnswer: boolean;
  /** The thread's last question, which can be edited. */
  lastQuestion: boolean;
  /** A reply is streaming in this thread: regenerate and edit wait. */
  busy: boolean;
  /** The inline editor is open on this question. */
  editing: boolean;
  /** Just opened from a search result. */
  highlighted: boolean;
}

interface StoredProps {
  id: number;
  options: MessageOptions | undefined;
}

function articleProps(label: string, role: 'user' | 'assistant', stored: StoredProps | undefined) {
  const classes = ['message', role === 'user' ? 'message-user' : 'message-assistant'];
  if (stored?.options?.highlighted) classes.push('message-highlighted');
  return {
    className: classes.join(' '),
    'aria-label': label,
    ...(stored ? { id: messageElementId(stored.id), 'data-message-id': stored.id } : {}),
    // Focusable only while highlighted: opening a search result moves focus (and a screen reader) there.
    ...(stored?.options?.highlighted ? { tabIndex: -1 } : {}),
  };
}

export function UserMessage({
  content,
  note,
  stored,
  attachments = [],
}: {
  content: string;
  note?: string;
  stored?: StoredProps;
  /** The question's photos: stored ones, or those just sent (shown from the local files until stored). */
  attachments?: readonly MessageAttachment[];
}) {
  const options = stored?.options;
  if (options?.editing) {
    return (
      <article {...articleProps('Editing your question', 'user', stored)}>
        <MessageEditor initial={content} onSave={options.handlers.saveEdit} onCancel={options.handlers.cancelEdit} />
      </article>
    );
  }
  return (
    <article {...articleProps('You said', 'user', stored)}>
      <MessageAttachments attachments={attachments} />
      {/* A photo alone is a question too. */}
      {(content !== '' || attachments.length === 0) && <div className="bubble">{content}</div>}
      {note && <p className="message-note">{note}</p>}
      {options && (
        <div className="message-actions">
          <CopyButton text={content} />
          {options.lastQuestion && (
            <button type="button" className="message-action" disabled={options.busy} onClick={options.handlers.startEdit}>
              <EditIcon />
              <span>Edit</span>
            </button>
          )}
        </div>
      )}
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

export function AssistantMessage({
  message,
  askAgain,
  options,
}: {
  message: HistoryMessage;
  askAgain?: AskAgain;
  options?: MessageOptions;
}) {
  return (
    <article {...articleProps('FixThread answered', 'assistant', { id: message.id, options })}>
      <span className="avatar" aria-hidden="true" />
      <div className="answer">
        <MarkdownAnswer text={message.content} />
        {message.stopped && <StoppedMarker />}
        {message.interrupted && <InterruptedMarker askAgain={askAgain} />}
        <SourceLinks sources={message.sources} />
        <div className="message-footer">
          <time className="message-time" dateTime={message.timestamp}>
            {timeOf(message.timestamp)}
          </time>
          {options && (
            <div className="message-actions">
              <CopyButton text={message.content} />
              {options.lastAnswer && (
                <button type="button" className="message-action" disabled={options.busy} onClick={options.handlers.regenerate}>
                  <RegenerateIcon />
                  <span>Regenerate</span>
                </button>
              )}
            </div>
          )}
        </div>
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
    sameAttachments(a.attachments, b.attachments) &&
    (a.sources === b.sources || JSON.stringify(a.sources) === JSON.stringify(b.sources))
  );
}

/** A stored photo never changes: its id says it all. */
function sameAttachments(a: readonly MessageAttachment[], b: readonly MessageAttachment[]): boolean {
  return a === b || (a.length === b.length && a.every((photo, index) => photo.id === b[index]?.id));
}

function sameAskAgain(a: AskAgain | undefined, b: AskAgain | undefined): boolean {
  return a === b || (a?.question === b?.question && a?.busy === b?.busy && a?.onAsk === b?.onAsk);
}

function sameOptions(a: MessageOptions | undefined, b: MessageOptions | undefined): boolean {
  return (
    a === b ||
    (a !== undefined &&
      b !== undefined &&
      a.handlers === b.handlers &&
      a.lastAnswer === b.lastAnswer &&
      a.lastQuestion === b.lastQuestion &&
      a.busy === b.busy &&
      a.editing === b.editing &&
      a.highlighted === b.highlighted)
  );
}

interface ChatMessageProps {
  message: HistoryMessage;
  /** Offered on interrupted replies only; `onAsk` must be stable, or they would re-render every frame. */
  askAgain?: AskAgain;
  /** Copy, regenerate and edit; `handlers` must be stable, for the same reason. */
  options?: MessageOptions;
}

/**
 * A stored message never changes, so it renders once: the history above a streaming reply (re-rendered every
 * frame) does not re-render, and its Markdown is not parsed again, even if a refetch hands over new objects.
 */
export const ChatMessage = memo(
  function ChatMessage({ message, askAgain, options }: ChatMessageProps) {
    return message.role === 'user' ? (
      <UserMessage content={message.content} stored={{ id: message.id, options }} attachments={message.attachments} />
    ) : (
      <AssistantMessage message={message} askAgain={askAgain} options={options} />
    );
  },
  (previous, next) =>
    sameMessage(previous.message, next.message) &&
    sameAskAgain(previous.askAgain, next.askAgain) &&
    sameOptions(previous.options, next.options),
);
