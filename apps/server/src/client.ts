/**
 * The typed client is the published package @fixthread/client (packages/client); this module hands it to
 * the server's own tests. They take its source by path because a package dependency would be a cycle: the
 * client's AppRouter type is read from this package's router.
 */
export {
  createFixThreadClient,
  type AppRouter,
  type FixThreadClient,
  type FixThreadClientOptions,
} from '../../../packages/client/src/index';
