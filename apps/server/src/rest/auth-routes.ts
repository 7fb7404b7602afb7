import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AuthConfig } from '../auth/auth-config';
import { devUserIdSchema } from '../auth/user-id';
import { parseInput } from '../validation';
import { documented, errors, jsonResponse } from './openapi';
import { authModeSchema, devTokenSchema } from './response-schemas';

const devLoginInput = z.object({ userId: devUserIdSchema }, { error: 'body must be a JSON object' });

/** `/auth/mode` tells the web client which sign-in to show; dev sign-in exists only in dev mode. */
export const authRoutes: FastifyPluginAsync<{ auth: AuthConfig }> = async (app, { auth }) => {
  app.get(
    '/auth/mode',
    documented({
      tags: ['auth'],
      operationId: 'getAuthMode',
      summary: 'Which sign-in this server takes',
      description: '`jwt`: tokens from the identity provider. `dev`: anyone may sign in as anyone with POST /auth/dev-login.',
      security: [],
      response: { 200: jsonResponse('The mode.', authModeSchema) },
    }),
    async () => ({ mode: auth.mode }),
  );

  const { signDevToken } = auth;
  if (!signDevToken) return;
  app.post(
    '/auth/dev-login',
    documented({
      tags: ['auth'],
      operationId: 'devLogin',
      summary: 'Sign in as any user id (dev mode only)',
      description: 'Present only when the server has neither JWT_SECRET nor JWKS_URL; never in production.',
      security: [],
      body: devLoginInput,
      response: { 200: jsonResponse('A token for that user.', devTokenSchema), ...errors(400, 413, 415) },
    }),
    async (request) => {
      const { userId } = parseInput(devLoginInput, request.body);
      return { token: await signDevToken(userId) };
    },
  );
};
