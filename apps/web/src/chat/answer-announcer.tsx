import { memo } from 'react';
import { spokenParts } from './spoken-parts';

/**
 * The polite live region for answers, kept mounted across turns and given `spokenSoFar` of the answer, so it
 * renders only when a paragraph completes. A new paragraph is a new element, so a screen reader announces each
 * once (the last when the answer ends) instead of every time the visible text grows. Starting a new turn
 * empties it, which is not announced.
 */
export const AnswerAnnouncer = memo(function AnswerAnnouncer({ spoken }: { spoken: string }) {
  return (
    <div className="visually-hidden answer-announcer" aria-live="polite">
      {spokenParts(spoken).map((part, index) => (
        <p key={index}>{part}</p>
      ))}
    </div>
  );
});
