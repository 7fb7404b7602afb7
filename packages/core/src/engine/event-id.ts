/**
 * A turn event's durable id: any process can resume after it. Every frame of a stream carries one (tRPC puts
 * it in a frame twice), so it is short: the turn id's 16 bytes in base64url, then the seq, e.g.
 * `sPDH4hERQiKDM5RERVVWZg:17` (25 characters against the 39 of `<uuid>:<seq>`). The long form, which earlier
 * servers sent, is still accepted, so a client holding one resumes after an upgrade.
 */
export function eventIdOf(turnId: string, seq: number): string {
  return `${shortTurnId(turnId)}:${seq}`;
}

export function parseEventId(id: string): { turnId: string; seq: number } | undefined {
  const match = /^([0-9a-f-]{36}|[A-Za-z0-9_-]{22}):(\d{1,9})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  const turnId = match[1].length === 22 ? uuidOf(match[1]) : match[1];
  return turnId === undefined ? undefined : { turnId, seq: Number(match[2]) };
}

// A stream asks for its turn's prefix once per event: keeping the last one spares a hex and base64 pass each time.
let lastTurnId = '';
let lastShort = '';

function shortTurnId(turnId: string): string {
  if (turnId !== lastTurnId) {
    lastShort = Buffer.from(turnId.replaceAll('-', ''), 'hex').toString('base64url');
    lastTurnId = turnId;
  }
  return lastShort;
}

function uuidOf(short: string): string | undefined {
  const bytes = Buffer.from(short, 'base64url');
  // 22 characters carry 132 bits: only the canonical spelling of 16 bytes (the last 4 bits zero) is an id.
  if (bytes.length !== 16 || bytes.toString('base64url') !== short) return undefined;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
