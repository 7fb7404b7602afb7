import {
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
  type ChangeEvent,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
  type RefObject,
} from 'react';
import { useMediaQuery } from '../ui/use-media-query';
import type { MessageAttachment } from './attachments/attachment-types';
import { FILE_INPUT_ACCEPT, sendBlocker } from './attachments/pending-attachments';
import { PhotoPreviews } from './attachments/photo-previews';
import { useFileDrop } from './attachments/use-file-drop';
import { usePendingAttachments } from './attachments/use-pending-attachments';
import { messageCounter } from './composer-counter';
import { ComposerCounter } from './composer-counter-view';
import { draftAfter, NO_DRAFT, type SentMessage } from './composer-draft';

interface ComposerProps {
  /** A reply is streaming: sending waits, and Stop is offered instead. */
  streaming: boolean;
  disabled: boolean;
  /** `attachments`: the photos sent with it, uploaded already (the message may be empty with photos). */
  onSend: (message: string, attachments: readonly MessageAttachment[]) => void;
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

/** Files the clipboard holds (a screenshot, an image copied from a page). */
function clipboardFiles(data: DataTransfer): File[] {
  if (data.files.length > 0) return Array.from(data.files);
  return Array.from(data.items).flatMap((item) => {
    const file = item.kind === 'file' ? item.getAsFile() : null;
    return file ? [file] : [];
  });
}

export function Composer({ streaming, disabled, onSend, onStop, textareaRef, sent = null }: ComposerProps) {
  const [text, setText] = useState('');
  const [draft, setDraft] = useState(NO_DRAFT);
  const inputId = useId();
  const hintId = useId();
  const counterId = useId();
  const counter = messageCounter(text);
  const tooLong = counter.level === 'over';
  const photos = usePendingAttachments();
  const photoBlocker = sendBlocker(photos.state);
  const hasPhotos = photos.state.items.length > 0;
  // A photo alone is a question too.
  const canSend = !streaming && !disabled && (text.trim() !== '' || hasPhotos) && !tooLong && photoBlocker === null;
  const fileInputRef = useRef<HTMLInputElement>(null);
  const cameraInputRef = useRef<HTMLInputElement>(null);
  // Phones and tablets get a button that opens the camera straight away.
  const touch = useMediaQuery('(pointer: coarse)');
  const drop = useFileDrop(!disabled, photos.add);

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
    onSend(text.trim(), photos.takeForSend());
    setText('');
    // The Send button turns into Stop; keep the keyboard where the user types.
    textareaRef.current?.focus();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    send();
  };

  const onFilesChosen = (event: ChangeEvent<HTMLInputElement>) => {
    photos.add(Array.from(event.target.files ?? []));
    // The same file can be chosen again after removing it.
    event.target.value = '';
  };

  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = clipboardFiles(event.clipboardData);
    if (files.length === 0) return;
    photos.add(files);
    // Text copied along with an image (from a web page) still pastes as text.
    if (event.clipboardData.getData('text/plain') === '') event.preventDefault();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // isComposing: Enter also confirms an IME candidate (Japanese, Chinese…), which must not send.
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    send();
  };

  return (
    <form className={tooLong ? 'composer composer-over' : 'composer'} onSubmit={submit}>
      <PhotoPreviews state={photos.state} onRemove={photos.remove} />
      <input
        ref={fileInputRef}
        type="file"
        accept={FILE_INPUT_ACCEPT}
        multiple
        hidden
        tabIndex={-1}
        disabled={disabled}
        onChange={onFilesChosen}
      />
      <button
        type="button"
        className="composer-icon-button"
        aria-label="Attach photos"
        title="Attach photos"
        disabled={disabled}
        onClick={() => fileInputRef.current?.click()}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
          <path
            d="M16.5 6.5l-7.8 7.8a1.8 1.8 0 0 0 2.5 2.5l7.8-7.8a3.5 3.5 0 0 0-5-5l-7.9 7.9a5.2 5.2 0 0 0 7.4 7.4L20 12.8"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
      </button>
      {touch && (
        <>
          <input
            ref={cameraInputRef}
            type="file"
            accept={FILE_INPUT_ACCEPT}
            capture="environment"
            hidden
            tabIndex={-1}
            disabled={disabled}
            onChange={onFilesChosen}
          />
          <button
            type="button"
            className="composer-icon-button"
            aria-label="Take photo"
            title="Take photo"
            disabled={disabled}
            onClick={() => cameraInputRef.current?.click()}
          >
            <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
              <path
                d="M4 8h3l1.5-2h7L17 8h3v11H4z"
                fill="none"
                stroke="currentColor"
                strokeWidth="1.8"
                strokeLinejoin="round"
              />
              <circle cx="12" cy="13" r="3.5" fill="none" stroke="currentColor" strokeWidth="1.8" />
            </svg>
          </button>
        </>
      )}
      {drop.dragging && (
        <div className="photo-drop-target" {...drop.targetProps}>
          <p>Drop photos to attach them</p>
        </div>
      )}
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
        onPaste={onPaste}
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
          <span className="composer-button-label">{photoBlocker === 'uploading' ? 'Uploading…' : 'Send'}</span>
        </button>
      )}
    </form>
  );
}
