import type { ChatTurn } from './conversation';
import { StreamingMarkdown } from './markdown-answer';

/**
 * The reply while it arrives, rendered at most once per animation frame (see useChatTurn), re-parsing only its
 * last Markdown block. It is busy and not a live region itself: AnswerAnnouncer reads it to screen readers a
 * paragraph at a time.
 */
export function StreamingAnswer({ turn }: { turn: ChatTurn }) {
  const waiting = turn.text === '' && !turn.status;
  return (
    <article className="message message-assistant streaming" aria-label="FixThread is answering" aria-busy="true">
      <span className="avatar" aria-hidden="true" />
      <div className="answer">
        {turn.status && (
          <p className="tool-status" role="status">
            <span className="spinner" aria-hidden="true" />
            {turn.status}
          </p>
        )}
        <div className="live-answer">
          {turn.text && <StreamingMarkdown text={turn.text} />}
        </div>
        {waiting && (
          <p className="typing" aria-label="Thinking">
            <span />
            <span />
            <span />
          </p>
        )}
      </div>
    </article>
  );
}
