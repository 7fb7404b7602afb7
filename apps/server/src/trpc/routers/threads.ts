import { z } from 'zod';
import { createTRPCRouter, protectedProcedure } from '../trpc';

const threadId = z.string({ error: 'threadId must be a string' });
const title = z.string({ error: 'title must be a string' });

/** The user's conversations. Another user's thread is NOT_FOUND, exactly like an unknown one. */
export const threadsRouter = createTRPCRouter({
  list: protectedProcedure
    .input(z.object({ cursor: z.string().optional(), limit: z.number({ error: 'limit must be a number' }).optional() }).optional())
    .query(({ ctx, input }) => ctx.engine.listThreads(ctx.userId, { cursor: input?.cursor, limit: input?.limit })),

  create: protectedProcedure
    .input(z.object({ title: title.optional() }).optional())
    .mutation(({ ctx, input }) => ctx.engine.createThread(ctx.userId, { title: input?.title })),

  rename: protectedProcedure
    .input(z.object({ threadId, title }))
    .mutation(({ ctx, input }) => ctx.engine.renameThread(ctx.userId, input.threadId, input.title)),

  delete: protectedProcedure
    .input(z.object({ threadId }))
    .mutation(({ ctx, input }) => ctx.engine.deleteThread(ctx.userId, input.threadId)),
});
