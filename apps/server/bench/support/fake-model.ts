/** The fake OpenAI-compatible model every part talks to, with the request the server last sent kept for the baselines. */
import { startFakeOpenAI, type ChatRequestBody, type FakeOpenAI, type FakeReply } from '@fixthread/testing';
import { sanity } from './stats';

/** ≈60 word-ish tokens: a typical short answer, streamed one token per SSE chunk by the fake. */
export const SHORT_REPLY =
  'Power the phone off and remove the SIM tray. Warm the screen edges for two minutes, then lift the glass ' +
  'with a suction cup and slide a pick along the bottom edge. Work slowly around the corners, keep the pick ' +
  'shallow near the flex cables, and disconnect the battery before touching anything else inside.';

export const SHORT_REPLY_DELTAS = SHORT_REPLY.match(/\s*\S+|\s+/g)?.length ?? 0;

export interface FakeModel {
  openai: FakeOpenAI;
  /** The last chat request the server sent: the baselines replay it so they do the same model I/O. */
  latestBody(): ChatRequestBody;
  /** Chat requests answered so far. */
  readonly requests: number;
}

/** The fake model: `defaultReply` unless `route` picks another reply from the last user message. */
export async function startFakeModel(
  route?: (lastUserMessage: string) => FakeReply | undefined,
): Promise<FakeModel> {
  const openai = await startFakeOpenAI({ record: false, defaultReply: { text: SHORT_REPLY } });
  let latest: ChatRequestBody | undefined;
  let requests = 0;
  openai.setResponder((body) => {
    requests++;
    const last = body.messages.findLast((m) => m.role === 'user');
    const routed = route?.(typeof last?.content === 'string' ? last.content : '');
    if (!routed) latest = body;
    return routed;
  });
  return {
    openai,
    latestBody: () => {
      sanity(latest, 'the server has not called the model yet');
      return latest;
    },
    get requests() {
      return requests;
    },
  };
}
