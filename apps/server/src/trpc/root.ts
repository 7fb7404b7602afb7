import { chatRouter } from './routers/chat';
import { serverInfoRouter } from './routers/server-info';
import { threadsRouter } from './routers/threads';
import { createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  chat: chatRouter,
  threads: threadsRouter,
  server: serverInfoRouter,
});

export type AppRouter = typeof appRouter;
