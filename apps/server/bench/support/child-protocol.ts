/** IPC messages between the bench and a server in a child process (server-process.ts). */
export type ChildMode = 'fixthread' | 'bare-ws';

export type ChildRequest =
  | { type: 'start'; mode: ChildMode; env: Record<string, string> }
  | { type: 'memory'; gc: boolean }
  | { type: 'exit' };

export type ChildReply =
  | { type: 'ready'; url: string }
  | { type: 'memory'; usage: ServerMemory }
  | { type: 'error'; message: string };

export interface ServerMemory extends NodeJS.MemoryUsage {
  /** Longest event-loop stall (monitorEventLoopDelay max) since the previous memory report. */
  loopDelayMaxMs: number;
}
