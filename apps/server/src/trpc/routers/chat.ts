import { NotFoundError, type Turn } from '@fixthread/core';
import { tracked, TRPCError } from '@trpc/server';
import { ServerShuttingDown } from '../../errors';
import { z } from 'zod';
import { historyInput, messageInput } from '../../validation';
import { eventId, parseEventId } from '../recent-turns';
import { createTRPCRouter, protectedProcedure, type Context } from '../trpc';

/** wsLink adds `lastEventId` to the input when it re-sends a subscription after a reconnect. */
const streamInput = messageInput.extend({ lastEventId: z.string().nullish() });

export const chatRouter = createTRPCRouter({
  send: protectedProcedure.input(messageInput).mutation(({ ctx, input }) => {
    assertAcceptingTurns(ctx);
    return ctx.engine.send(ctx.userId, input.message);
  }),

  /**
   * Events arrive as `{ id, data }` (tracked) so a reconnecting client resumes the same turn instead of
   * posting its message twice. Unsubscribing only stops the delivery: the engine finishes and saves the turn.
   */
  stream: protectedProcedure.input(streamInput).subscription(async function* ({ ctx, input, signal }) {
    const leave = ctx.streams.enter();
    try {
      const resumeFrom = input.lastEventId ? parseEventId(input.lastEventId) : undefined;
      const turn = input.lastEventId
        ? findTurn(ctx, ctx.userId, resumeFrom?.turnId)
        : await startTurn(ctx, ctx.userId, input.message);
      for await (const { event, position } of turn.positionedEvents({ signal, after: resumeFrom?.position })) {
        yield tracked(eventId(turn, position), event);
      }
    } finally {
      leave();
    }
  }),

  stop: protectedProcedure.mutation(({ ctx }) => ({ stopped: ctx.engine.stop(ctx.userId) })),

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

async function startTurn(ctx: Context, userId: string, message: string): Promise<Turn> {
  assertAcceptingTurns(ctx);
  const turn = await ctx.engine.startTurn(userId, message);
  ctx.turns.remember(turn);
  return turn;
}

function findTurn(ctx: Context, userId: string, turnId: string | undefined): Turn {
  const turn = turnId ? ctx.turns.find(userId, turnId) : undefined;
  if (!turn) throw new NotFoundError('This reply is no longer streaming; reload the history to see it');
  return turn;
}
