import type { MessageCounter } from './composer-counter';
import './composer.css';

/**
 * How long the message is against the limit, once it is near: the numbers where sighted users look, the same
 * in words for the field's description (`id`), and a status region that speaks up only when the message
 * crosses into near or over. The region stays mounted, empty, so that what it says next is announced.
 */
export function ComposerCounter({ id, counter }: { id: string; counter: MessageCounter }) {
  return (
    <>
      {counter.level !== 'hidden' && (
        <p id={id} className={`composer-counter counter-${counter.level}`}>
          <span aria-hidden="true">{counter.shown}</span>
          <span className="visually-hidden">{counter.description}</span>
        </p>
      )}
      <p className="visually-hidden" role="status">
        {counter.announcement}
      </p>
    </>
  );
}
