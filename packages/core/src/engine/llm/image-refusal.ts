import { APIError } from 'openai';
import type { ChatMessage } from './chat-message';

/**
 * How OpenAI-compatible servers word "this model takes no images", as each answers a text-only model sent an
 * image part: OpenAI ("Invalid content type. image_url is only supported by certain models."), Ollama ("this
 * model does not support image input", "missing data required for image input"), llama.cpp server ("image
 * input is not supported"), LM Studio ("Model does not support images"), vLLM ("… is not a multimodal
 * model", "At most 0 image(s) may be provided"), and strict parsers that know only text parts ("unknown
 * variant `image_url`").
 */
const REFUSALS = [
  /image_url is only supported by certain models/i,
  /(?:does not|doesn't|do not|cannot) (?:support|accept|handle) (?:image|images|vision|multimodal)/i,
  /(?:image|images|vision|multimodal)(?: input| inputs| content)? (?:is|are) not supported/i,
  /not a multimodal model/i,
  /at most 0 image/i,
  /unknown variant [`'"]?image_url/i,
  /missing data required for image input/i,
];

/**
 * Whether the provider refused the request because it had images: a client error (or the 500 some local
 * servers answer with) that says so, for a request that had image parts. Anything else stays an outage.
 */
export function refusedImages(error: unknown, messages: ChatMessage[]): boolean {
  if (!(error instanceof APIError) || error.status === undefined) return false;
  if (!(error.status >= 400 && error.status <= 500) || error.status === 429) return false;
  if (!messages.some(hasImage)) return false;
  return REFUSALS.some((pattern) => pattern.test(error.message));
}

function hasImage(message: ChatMessage): boolean {
  return Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url');
}
