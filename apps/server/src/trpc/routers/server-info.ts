import type { Driver } from '@fixthread/core';
import { createTRPCRouter, protectedProcedure } from '../trpc';

/** What a client may show about how this server runs: whether answers come from a model, and where data lives. */
export interface ServerInfo {
  model: { configured: boolean; name: string | null };
  database: Driver;
}

export const serverInfoRouter = createTRPCRouter({
  info: protectedProcedure.query(({ ctx }): ServerInfo => ctx.serverInfo),
});
