import type { ChatTurn } from './conversation';
import { MarkdownAnswer } from './markdown-answer';

/** The reply while it arrives. The live region lets screen readers follow the text as it streams. */
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
        <div className="live-answer" aria-live="polite">
          {turn.text && <MarkdownAnswer text={turn.text} />}
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
