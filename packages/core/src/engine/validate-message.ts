import { ValidationError } from '../errors';

/**
 * Rejects what cannot be a user message before anything is stored. NUL and unpaired surrogates are refused
 * here because Postgres cannot store them and would otherwise surface as a 500.
 */
export function validateMessage(message: unknown, maxChars: number): string {
  if (typeof message !== 'string') throw new ValidationError('message must be a string', 'message');
  if (message.trim().length === 0) throw new ValidationError('message must not be empty', 'message');
  return storableMessage(message, maxChars);
}

/**
 * The text sent with photos: the same rules, except that it may be empty, since a photo alone is a question
 * ("what is this?"). Blank text is stored as empty.
 */
export function validateCaption(message: unknown, maxChars: number): string {
  if (message === undefined || message === null) return '';
  if (typeof message !== 'string') throw new ValidationError('message must be a string', 'message');
  return message.trim().length === 0 ? '' : storableMessage(message, maxChars);
}

function storableMessage(message: string, maxChars: number): string {
  if (message.length > maxChars) {
    throw new ValidationError(`message must be at most ${maxChars} characters`, 'message');
  }
  if (message.includes('\u0000')) throw new ValidationError('message must not contain NUL (\\u0000) characters', 'message');
  if (!message.isWellFormed()) throw new ValidationError('message must be valid Unicode text', 'message');
  return message;
}
