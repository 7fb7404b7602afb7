/** IPC messages between the bench and a server in a child process (server-process.ts). */
/**
 * `bare-ws-stream`: a bare `ws` server that answers a chat.stream subscription by pushing the frames in
 * env.FRAMES (a JSON array of strings, captured from FixThread) one every env.FRAME_INTERVAL_MS.
 */
export type ChildMode = 'fixthread' | 'bare-ws' | 'bare-ws-stream';

export type ChildRequest =
  | { type: 'start'; mode: ChildMode; env: Record<string, string> }
  | { type: 'memory'; gc: boolean }
  /** Starts the V8 CPU profiler, or stops it and writes the .cpuprofile to `path`. */
  | { type: 'profile'; action: 'start' | 'stop'; path?: string }
  | { type: 'exit' };

export type ChildReply =
  | { type: 'ready'; url: string }
  | { type: 'memory'; usage: ServerMemory }
  | { type: 'profiled' }
  | { type: 'error'; message: string };

export interface ServerMemory extends NodeJS.MemoryUsage {
  /** Longest event-loop stall (monitorEventLoopDelay max) since the previous memory report. */
  loopDelayMaxMs: number;
}
