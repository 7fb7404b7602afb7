import { useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';

interface MessageEditorProps {
  initial: string;
  onSave: (message: string) => void;
  onCancel: () => void;
}

/**
 * The last question, editable in place: Save & send replaces it (and its answer) and asks it anew. Enter sends as
 * in the composer, Shift+Enter adds a line, Escape cancels.
 */
export function MessageEditor({ initial, onSave, onCancel }: MessageEditorProps) {
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  const labelId = useId();
  const trimmed = text.trim();
  const canSave = trimmed !== '' && trimmed !== initial.trim();

  useLayoutEffect(() => {
    const textarea = ref.current;
    if (!textarea) return;
    textarea.style.height = 'auto';
    textarea.style.height = `${textarea.scrollHeight}px`;
  }, [text]);

  useLayoutEffect(() => {
    const textarea = ref.current;
    if (!textarea) return;
    textarea.focus();
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  }, []);

  const save = (event?: FormEvent) => {
    event?.preventDefault();
    if (canSave) onSave(trimmed);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      return onCancel();
    }
    if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    save();
  };

  return (
    <form className="message-editor" onSubmit={save} aria-labelledby={labelId}>
      <label id={labelId} className="visually-hidden" htmlFor={`${labelId}-input`}>
        Edit your question
      </label>
      <textarea id={`${labelId}-input`} ref={ref} rows={1} value={text} onChange={(event) => setText(event.target.value)} onKeyDown={onKeyDown} />
      <div className="message-editor-actions">
        <button type="button" className="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={!canSave}>
          Save &amp; send
        </button>
      </div>
    </form>
  );
}
