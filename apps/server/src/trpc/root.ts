import { chatRouter } from './routers/chat';
import { threadsRouter } from './routers/threads';
import { createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  chat: chatRouter,
  threads: threadsRouter,
});

export type AppRouter = typeof appRouter;
