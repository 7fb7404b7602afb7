import { useEffect, useId, useLayoutEffect, useState, type FormEvent, type KeyboardEvent, type RefObject } from 'react';
import { messageCounter } from './composer-counter';
import { ComposerCounter } from './composer-counter-view';
import { draftAfter, NO_DRAFT, type SentMessage } from './composer-draft';

interface ComposerProps {
  /** A reply is streaming: sending waits, and Stop is offered instead. */
  streaming: boolean;
  disabled: boolean;
  onSend: (message: string) => void;
  onStop: () => void;
  textareaRef: RefObject<HTMLTextAreaElement | null>;
  /**
   * The last message sent from here, as its turn stands (see `sentMessage`): one the server refused goes back
   * into the field instead of being lost.
   */
  sent?: SentMessage | null;
}

/** On touch devices focusing would pop up the keyboard over the conversation the user came to read. */
function hasFinePointer(): boolean {
  return window.matchMedia('(pointer: fine)').matches;
}

export function Composer({ streaming, disabled, onSend, onStop, textareaRef, sent = null }: ComposerProps) {
  const [text, setText] = useState('');
  const [draft, setDraft] = useState(NO_DRAFT);
  const inputId = useId();
  const hintId = useId();
  const counterId = useId();
  const counter = messageCounter(text);
  const tooLong = counter.level === 'over';
  const canSend = !streaming && !disabled && text.trim() !== '' && !tooLong;

  // A refused message comes back (and goes again once it is sent after all), decided as the turn changes.
  const next = draftAfter(draft, sent, text);
  if (next.memory !== draft) {
    setDraft(next.memory);
    setText(next.text);
  }

  // The field is disabled while the history loads, so autofocus can't work: focus it once it's usable.
  useEffect(() => {
    if (!disabled && hasFinePointer()) textareaRef.current?.focus();
  }, [disabled, textareaRef]);

  // Grow with the text up to the CSS max-height, then scroll.
  useLayoutEffect(() => {
    const textarea = textareaRef.current;
    if (!textarea) return;
    textarea.style.height = 'auto';
    textarea.style.height = `${textarea.scrollHeight}px`;
  }, [text]);

  const send = () => {
    if (!canSend) return;
    onSend(text.trim());
    setText('');
    // The Send button turns into Stop; keep the keyboard where the user types.
    textareaRef.current?.focus();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // isComposing: Enter also confirms an IME candidate (Japanese, Chinese…), which must not send.
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    send();
  };

  return (
    <form className={tooLong ? 'composer composer-over' : 'composer'} onSubmit={submit}>
      <label htmlFor={inputId} className="visually-hidden">
        Message
      </label>
      <textarea
        id={inputId}
        ref={textareaRef}
        rows={1}
        placeholder="Describe what’s broken…"
        aria-describedby={counter.level === 'hidden' ? hintId : `${hintId} ${counterId}`}
        aria-invalid={tooLong || undefined}
        disabled={disabled}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <p id={hintId} className="visually-hidden">
        Enter sends, Shift+Enter adds a new line.
      </p>
      <ComposerCounter id={counterId} counter={counter} />
      {streaming ? (
        <button type="button" className="composer-button stop-button" onClick={onStop}>
          <span className="stop-icon" aria-hidden="true" />
          Stop
        </button>
      ) : (
        <button type="submit" className="composer-button send-button" disabled={!canSend}>
          <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">
            <path d="M4 12l16-8-6 16-2.5-6.5z" fill="currentColor" />
          </svg>
          <span className="composer-button-label">Send</span>
        </button>
      )}
    </form>
  );
}
