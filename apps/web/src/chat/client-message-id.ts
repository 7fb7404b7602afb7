/**
 * The idempotency key sent with each new message (`clientMessageId`): the server stores a question once per
 * key, so re-sending the same attempt (a retry, a reconnect) can never ask it twice.
 */
export function newClientMessageId(): string {
  // randomUUID exists only in secure contexts; FixThread served over plain http on a LAN address is not one.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
