export type { AppRouter } from './app-router.js';
export {
  createFixThreadClient,
  type FixThreadClient,
  type FixThreadClientOptions,
  type TokenSource,
  type WebSocketOptions,
} from './create-client.js';
export { ERROR_CODES, errorCodeOf, type ErrorCode, type TRPCErrorCode } from './error-codes.js';
export type { RouterInputs, RouterOutputs, TurnEvent } from './router-types.js';
export type { WebSocketImplementation } from './web-socket.js';
