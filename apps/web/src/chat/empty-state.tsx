const SUGGESTIONS = [
  'My iPhone 12 screen is cracked. Can I replace it myself?',
  'My PS5 turns off after a few minutes of playing.',
  'How do I replace the battery in a MacBook Air?',
];

/** A first screen that shows what to ask, one tap away. */
export function EmptyState({ onPick }: { onPick: (question: string) => void }) {
  return (
    <div className="empty-state">
      <span className="empty-mark" aria-hidden="true" />
      <h2>What needs fixing?</h2>
      <p className="muted">Describe the device and what’s wrong. I’ll find iFixit guides and walk you through the repair.</p>
      <ul className="suggestions" aria-label="Example questions">
        {SUGGESTIONS.map((question) => (
          <li key={question}>
            <button type="button" className="suggestion" onClick={() => onPick(question)}>
              {question}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
