import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';

type Announce = (message: string) => void;

const AnnounceContext = createContext<Announce>(() => {});

/**
 * One polite status region for short confirmations ("Message copied", "Conversation deleted"), instead of a
 * live region per button. The same words twice in a row are still read twice.
 */
export function AnnouncerProvider({ children }: { children: ReactNode }) {
  const [message, setMessage] = useState({ text: '', serial: 0 });
  const serial = useRef(0);
  const announce = useCallback((text: string) => {
    serial.current += 1;
    setMessage({ text, serial: serial.current });
  }, []);
  return (
    <AnnounceContext value={announce}>
      {children}
      <div className="visually-hidden" role="status" data-testid="announcer">
        <span key={message.serial}>{message.text}</span>
      </div>
    </AnnounceContext>
  );
}

export function useAnnounce(): Announce {
  return useContext(AnnounceContext);
}
