/**
 * A program of another project, written against the installed @fixthread/client: copied into a temporary
 * project outside the workspace, typechecked there under `nodenext` and `bundler`, then run under Node.
 *
 *   node --import ./register-hooks.mjs out/consumer.js <url> <token>
 *
 * It prints one JSON line with what it saw, for the test to judge.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  createFixThreadClient,
  ERROR_CODES,
  errorCodeOf,
  type AppRouter,
  type ErrorCode,
  type RouterInputs,
  type RouterOutputs,
  type TurnEvent,
} from '@fixthread/client';

type IsAny<T> = 0 extends 1 & T ? true : false;

/** Never called: each line fails to compile if the package's types were `any`, or wrong. */
export function typeChecks(client: ReturnType<typeof createFixThreadClient>): void {
  const routerIsTyped: IsAny<AppRouter> = false;
  const historyIsTyped: IsAny<RouterOutputs['chat']['history']> = false;
  const input: RouterInputs['chat']['stream'] = { message: 'hello', threadId: 'thread-1' };
  // @ts-expect-error the message is a string
  const wrongInput: RouterInputs['chat']['stream'] = { message: 42 };
  const count: number = ({} as RouterOutputs['chat']['history']).message_count;
  // @ts-expect-error no such field on the history
  const missing: unknown = ({} as RouterOutputs['chat']['history']).nope;
  const code: ErrorCode = 'QUOTA_EXCEEDED';
  // @ts-expect-error not a code the server answers with
  const wrongCode: ErrorCode = 'NOPE';
  // @ts-expect-error the limit is a number
  void client.trpc.chat.history.query({ limit: 'ten' });
  // An upload takes the runtime's own FormData, and nothing shaped like it.
  void client.trpc.chat.upload.mutate(new FormData());
  // @ts-expect-error an upload is FormData, not an object with a file
  void client.trpc.chat.upload.mutate({ file: 'photo.png' });
  const photoType: 'image/jpeg' | 'image/png' | 'image/webp' = ({} as RouterOutputs['chat']['upload']).content_type;
  const withPhotos: RouterInputs['chat']['send'] = { message: '', attachments: ['att_1'] };
  // @ts-expect-error no such procedure
  // eslint-disable-next-line @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- the point
  void client.trpc.chat.nope.query();
  client.trpc.chat.stream.subscribe(
    { message: 'hi' },
    {
      onData: ({ id, data }) => {
        const eventId: string = id;
        // @ts-expect-error an event's type is one of status, token, done
        if (data.type === 'finished') return;
        if (data.type === 'done') {
          const threadId: string = data.thread_id;
          void threadId;
        }
        void eventId;
      },
    },
  );
  void [routerIsTyped, historyIsTyped, input, wrongInput, count, missing, code, wrongCode, photoType, withPhotos];
}

/** The resolve hook (hooks.mjs) appends each module it resolves from the `ws` package to this file. */
function wsLoaded(): boolean {
  const log = process.env.RESOLVE_LOG;
  return log !== undefined && existsSync(log) && readFileSync(log, 'utf8').includes('/node_modules/ws/');
}

const [url, token] = process.argv.slice(2);
if (!url || !token) throw new Error('usage: consumer.js <url> <token>');

const client = createFixThreadClient({ url, token });
const before = await client.trpc.chat.history.query({ limit: 10 });
const wsLoadedAfterQuery = wsLoaded();

const events: TurnEvent[] = [];
await new Promise<void>((resolve, reject) => {
  client.trpc.chat.stream.subscribe(
    { message: 'My PS5 has no HDMI signal' },
    { onData: ({ data }) => events.push(data), onComplete: resolve, onError: reject },
  );
});
const after = await client.trpc.chat.history.query({ limit: 10 });

/** A 4 × 3 red PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEElEQVR4nGM4IScHRww4OQD1xwwxB+utmQAAAABJRU5ErkJggg==',
  'base64',
);
const form = new FormData();
form.append('file', new Blob([PNG], { type: 'image/jpeg' }), 'photo.jpg');
const photo = await client.trpc.chat.upload.mutate(form);
await client.trpc.chat.send.mutate({ message: 'What colour is this?', attachments: [photo.id] });
const withPhoto = await client.trpc.chat.history.query({ limit: 2 });

let unauthorized: string | undefined;
try {
  await createFixThreadClient({ url, token: 'not-a-jwt' }).trpc.chat.sessions.query();
} catch (error) {
  unauthorized = errorCodeOf(error);
}
await client.close();

console.log(
  JSON.stringify({
    hasGlobalWebSocket: typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function',
    messagesBefore: before.message_count,
    messagesAfter: after.message_count,
    wsLoadedAfterQuery,
    wsLoadedAtEnd: wsLoaded(),
    events,
    photo,
    photoInHistory: withPhoto.messages.find((message) => message.role === 'user')?.attachments,
    unauthorized,
    unauthorizedIsListed: (ERROR_CODES as readonly string[]).includes(unauthorized ?? ''),
  }),
);
