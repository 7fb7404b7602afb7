import { eventIdOf, NotFoundError, parseEventId, type Turn } from '@fixthread/core';
import { tracked, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { ServerShuttingDown } from '../../errors';
import { historyInput, messageInput } from '../../validation';
import { createTRPCRouter, protectedProcedure, type Context } from '../trpc';

/** The client's idempotency key: the same id again returns the original turn. The web client always sends one. */
const sendInput = messageInput.extend({ clientMessageId: z.string({ error: 'clientMessageId must be a string' }).optional() });
/** wsLink (and httpSubscriptionLink) add `lastEventId` to the input when they re-send after a reconnect. */
const streamInput = sendInput.extend({ lastEventId: z.string().nullish() });

export const chatRouter = createTRPCRouter({
  send: protectedProcedure.input(sendInput).mutation(async ({ ctx, input }) => {
    assertAcceptingTurns(ctx);
    const { response, thread_id } = await ctx.engine.send(ctx.userId, input.message, { clientMessageId: input.clientMessageId });
    return { response, thread_id };
  }),

  /**
   * Events arrive as `{ id, data }` (tracked, `<turn id>:<seq>`), so a reconnecting client resumes the same
   * turn, on this instance or any other, even after a restart. Unsubscribing only stops the delivery: the
   * engine finishes and saves the turn.
   */
  stream: protectedProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
    const leave = ctx.streams.enter();
    try {
      const resumeFrom = input.lastEventId ? parseEventId(input.lastEventId) : undefined;
      if (input.lastEventId && !resumeFrom) throw new NotFoundError('Unknown event id; reload the history to see the reply');
      const turn = resumeFrom ? await ctx.engine.resume(ctx.userId, resumeFrom.turnId) : await startTurn(ctx, input);
      for await (const { event, seq } of turn.events({ signal, afterSeq: resumeFrom?.seq })) {
        yield tracked(eventIdOf(turn.id, seq), event);
      }
    } finally {
      leave();
    }
  }),

  stop: protectedProcedure.mutation(async ({ ctx }) => ({ stopped: await ctx.engine.stop(ctx.userId) })),

  history: protectedProcedure
    .input(historyInput)
    .query(({ ctx, input }) => ctx.engine.history(ctx.userId, { limit: input?.limit })),

  clear: protectedProcedure.mutation(({ ctx }) => ctx.engine.clear(ctx.userId)),

  sessions: protectedProcedure.query(({ ctx }) => ctx.engine.stats(ctx.userId)),
});

/** Resuming a turn is still served while shutting down; starting one is left to another instance. */
function assertAcceptingTurns(ctx: Context): void {
  if (ctx.shutdown.started) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', cause: new ServerShuttingDown() });
}

function startTurn(ctx: Context & { userId: string }, input: z.output<typeof sendInput>): Promise<Turn> {
  assertAcceptingTurns(ctx);
  return ctx.engine.startTurn(ctx.userId, input.message, { clientMessageId: input.clientMessageId });
}
