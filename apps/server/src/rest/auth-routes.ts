import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AuthConfig } from '../auth/auth-config';
import { devUserIdSchema } from '../auth/user-id';
import { parseInput } from '../validation';

const devLoginInput = z.object({ userId: devUserIdSchema }, { error: 'body must be a JSON object' });

/** `/auth/mode` tells the web client which sign-in to show; dev sign-in exists only in dev mode. */
export const authRoutes: FastifyPluginAsync<{ auth: AuthConfig }> = async (app, { auth }) => {
  app.get('/auth/mode', async () => ({ mode: auth.mode }));

  const { signDevToken } = auth;
  if (!signDevToken) return;
  app.post('/auth/dev-login', async (request) => {
    const { userId } = parseInput(devLoginInput, request.body);
    return { token: await signDevToken(userId) };
  });
};
