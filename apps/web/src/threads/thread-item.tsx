import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ThreadSummary } from '../api-types';
import { describeError } from '../chat/describe-error';
import { MenuButton } from '../ui/menu-button';
import { displayTitle, formatActivity } from './thread-format';

export type ExportFormat = 'markdown' | 'json';

export interface ThreadActions {
  onSelect: (thread: ThreadSummary) => void;
  /** Resolves once the server has the new title; rejects with its error. */
  onRename: (thread: ThreadSummary, title: string) => Promise<unknown>;
  onDelete: (thread: ThreadSummary) => void;
  onExport: (thread: ThreadSummary, format: ExportFormat) => void;
}

interface ThreadItemProps extends ThreadActions {
  thread: ThreadSummary;
  current: boolean;
  /** A reply is streaming on it (maybe while another thread is shown). */
  streaming: boolean;
}

export function ThreadItem({ thread, current, streaming, onSelect, onRename, onDelete, onExport }: ThreadItemProps) {
  const [renaming, setRenaming] = useState(false);
  const linkRef = useRef<HTMLButtonElement>(null);
  const wasRenaming = useRef(false);
  const title = displayTitle(thread);

  // Back from the rename field, focus returns to the thread it renamed.
  useEffect(() => {
    if (wasRenaming.current && !renaming) linkRef.current?.focus();
    wasRenaming.current = renaming;
  }, [renaming]);

  return (
    <li className={current ? 'thread-item current' : 'thread-item'} data-thread-id={thread.id}>
      {renaming ? (
        <RenameForm
          initial={thread.title ?? ''}
          onSave={(next) => onRename(thread, next)}
          onDone={() => setRenaming(false)}
        />
      ) : (
        <button
          ref={linkRef}
          type="button"
          className="thread-link"
          aria-current={current ? 'page' : undefined}
          onClick={() => onSelect(thread)}
        >
          <span className="thread-title">{title}</span>
          <span className="thread-meta">
            {streaming ? (
              <>
                <span className="spinner" aria-hidden="true" /> Answering…
              </>
            ) : (
              formatActivity(thread.last_activity ?? thread.created_at)
            )}
          </span>
        </button>
      )}
      {!renaming && (
        <MenuButton
          className="thread-menu"
          label={`Actions for ${title}`}
          items={[
            { label: 'Rename', onSelect: () => setRenaming(true) },
            { label: 'Export as Markdown', onSelect: () => onExport(thread, 'markdown') },
            { label: 'Export as JSON', onSelect: () => onExport(thread, 'json') },
            { label: 'Delete', onSelect: () => onDelete(thread), danger: true },
          ]}
        >
          <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18" fill="currentColor">
            <circle cx="5" cy="12" r="1.8" />
            <circle cx="12" cy="12" r="1.8" />
            <circle cx="19" cy="12" r="1.8" />
          </svg>
        </MenuButton>
      )}
    </li>
  );
}

interface RenameFormProps {
  initial: string;
  onSave: (title: string) => Promise<unknown>;
  onDone: () => void;
}

/** The title, editable in place: Enter (or leaving the field) saves, Escape cancels. */
function RenameForm({ initial, onSave, onDone }: RenameFormProps) {
  const [title, setTitle] = useState(initial);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const errorId = useId();
  const settled = useRef(false);

  useEffect(() => {
    inputRef.current?.focus();
    inputRef.current?.select();
  }, []);

  const save = async (event?: FormEvent) => {
    event?.preventDefault();
    if (settled.current || saving) return;
    const trimmed = title.replace(/\s+/g, ' ').trim();
    if (trimmed === '' || trimmed === initial) {
      settled.current = true;
      return onDone();
    }
    setSaving(true);
    try {
      await onSave(trimmed);
      settled.current = true;
      onDone();
    } catch (caught) {
      setSaving(false);
      setError(describeError(caught).detail);
      inputRef.current?.focus();
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Escape') return;
    // Only the field: a drawer around it stays open.
    event.preventDefault();
    event.stopPropagation();
    settled.current = true;
    onDone();
  };

  return (
    <form className="rename-form" onSubmit={(event) => void save(event)}>
      <input
        ref={inputRef}
        aria-label="Conversation title"
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        maxLength={120}
        value={title}
        disabled={saving}
        onChange={(event) => setTitle(event.target.value)}
        onKeyDown={onKeyDown}
        onBlur={() => void save()}
      />
      {error && (
        <p id={errorId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
