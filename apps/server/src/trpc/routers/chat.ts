import { eventIdOf, NotFoundError, parseEventId, ValidationError, type ExportRecord, type Turn } from '@fixthread/core';
import { tracked, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { ServerShuttingDown } from '../../errors';
import { presentUpload } from '../../present-upload';
import { socketDrained } from '../socket-drain';
import { historyInput, messageInput, threadInput } from '../../validation';
import { createTRPCRouter, protectedProcedure, type Context } from '../trpc';

const threadId = z.string({ error: 'thread_id must be a string' }).optional();
/** The client's idempotency key: the same id again returns the original turn. The web client always sends one. */
const sendInput = messageInput.extend({ clientMessageId: z.string({ error: 'clientMessageId must be a string' }).optional(), threadId });
/** wsLink (and httpSubscriptionLink) add `lastEventId` to the input when they re-send after a reconnect. */
const streamInput = sendInput.extend({ lastEventId: z.string().nullish() });
const regenerateInput = z.object({
  clientMessageId: z.string({ error: 'clientMessageId must be a string' }).optional(),
  threadId,
  lastEventId: z.string().nullish(),
});

type Authed = Context & { userId: string };

export const chatRouter = createTRPCRouter({
  send: protectedProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
    assertAcceptingTurns(ctx);
    const { response, thread_id } = await ctx.engine.send(ctx.userId, input.message, {
      clientMessageId: input.clientMessageId,
      threadId: input.threadId,
      attachments: input.attachments,
    });
    return { response, thread_id };
  }),

  /**
   * Events arrive as `{ id, data }` (tracked, the short `eventIdOf` form), so a reconnecting client resumes the same
   * turn, on this instance or any other, even after a restart. Unsubscribing only stops the delivery: the
   * engine finishes and saves the turn.
   */
  stream: protectedProcedure
    .input(streamInput)
    .subscription(({ ctx, input, signal }) =>
      streamTurn(ctx, input.lastEventId, signal, () =>
        ctx.engine.startTurn(ctx.userId, input.message, {
          clientMessageId: input.clientMessageId,
          threadId: input.threadId,
          attachments: input.attachments,
        }),
      ),
    ),

  /** The thread's last answer again, streamed like `stream`; the old one is kept as superseded. */
  regenerate: protectedProcedure
    .input(regenerateInput)
    .subscription(({ ctx, input, signal }) =>
      streamTurn(ctx, input.lastEventId, signal, () =>
        ctx.engine.regenerate(ctx.userId, { clientMessageId: input.clientMessageId, threadId: input.threadId }),
      ),
    ),

  /** The thread's last question replaced by `message`, and answered, streamed like `stream`. */
  edit: protectedProcedure
    .input(streamInput)
    .subscription(({ ctx, input, signal }) =>
      streamTurn(ctx, input.lastEventId, signal, () =>
        ctx.engine.edit(ctx.userId, input.message, {
          clientMessageId: input.clientMessageId,
          threadId: input.threadId,
          attachments: input.attachments,
        }),
      ),
    ),

  /**
   * A photo to send with a message (name its `id` in `attachments`), as FormData with the file in `file`:
   * the client's httpLink sends it as multipart/form-data, outside any batch. Answers what POST
   * /chat/attachments does; the server refuses a body over MAX_IMAGE_BYTES before tRPC reads it.
   */
  upload: protectedProcedure
    .input(z.instanceof(FormData, { error: 'send the photo as FormData, in a file field named file' }))
    .mutation(async ({ ctx, input }) => presentUpload(await ctx.engine.uploadAttachment(ctx.userId, await photoBytes(input)))),

  stop: protectedProcedure
    .input(threadInput)
    .mutation(async ({ ctx, input }) => ({ stopped: await ctx.engine.stop(ctx.userId, { threadId: input?.threadId }) })),

  history: protectedProcedure
    .input(historyInput)
    .query(({ ctx, input }) =>
      ctx.engine.history(ctx.userId, { limit: input?.limit, before: input?.before, threadId: input?.threadId }),
    ),

  clear: protectedProcedure.input(threadInput).mutation(({ ctx, input }) => ctx.engine.clear(ctx.userId, { threadId: input?.threadId })),

  sessions: protectedProcedure.input(threadInput).query(({ ctx, input }) => ctx.engine.stats(ctx.userId, { threadId: input?.threadId })),

  /** A thread's records (`thread`, then each `message`), or every thread's with `all`, a page at a time. */
  export: protectedProcedure
    .input(z.object({ threadId, all: z.boolean().optional() }).optional())
    .subscription(async function* ({ ctx, input }): AsyncGenerator<ExportRecord> {
      if (input?.all) {
        yield* ctx.engine.exportAll(ctx.userId);
        return;
      }
      const { thread, messages } = await ctx.engine.exportThread(ctx.userId, input?.threadId);
      if (thread) yield { type: 'thread', id: thread.id, title: thread.title, created_at: thread.created_at };
      for await (const message of messages) yield { type: 'message', ...message };
    }),

  search: protectedProcedure
    .input(z.object({ q: z.string({ error: 'q must be a string' }), limit: z.number({ error: 'limit must be a number' }).optional() }))
    .query(({ ctx, input }) => ctx.engine.search(ctx.userId, input.q, { limit: input.limit })),
});

/** The file's bytes; its name and declared type are the client's say-so, and the engine reads the bytes. */
async function photoBytes(form: FormData): Promise<Uint8Array> {
  const file = form.get('file');
  if (!(file instanceof Blob)) throw new ValidationError('Attach the photo in a file field named `file`.', 'file');
  return new Uint8Array(await file.arrayBuffer());
}

async function* streamTurn(ctx: Authed, lastEventId: string | null | undefined, signal: AbortSignal | undefined, start: () => Promise<Turn>) {
  const leave = ctx.streams.enter();
  try {
    const resumeFrom = lastEventId ? parseEventId(lastEventId) : undefined;
    if (lastEventId && !resumeFrom) throw new NotFoundError('Unknown event id; reload the history to see the reply');
    if (!resumeFrom) assertAcceptingTurns(ctx);
    const turn = resumeFrom ? await ctx.engine.resume(ctx.userId, resumeFrom.turnId) : await start();
    for await (const { event, seq } of turn.events({ signal, afterSeq: resumeFrom?.seq })) {
      yield tracked(eventIdOf(turn.id, seq), event);
      // tRPC has sent that frame by the time it asks for the next one; ws itself never pushes back.
      if (ctx.socket) await socketDrained(ctx.socket, signal);
    }
  } finally {
    leave();
  }
}

/** Resuming a turn is still served while shutting down; starting one is left to another instance. */
function assertAcceptingTurns(ctx: Context): void {
  if (ctx.shutdown.started) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', cause: new ServerShuttingDown() });
}
