/**
 * Browser render benchmark: the main-thread time the web client spends while a long answer streams in.
 *
 * Boots the real server the way the e2e suites do (startAppServer: fake OpenAI and iFixit, fresh database),
 * serving the current build of apps/web (rebuilt when src/ is newer) and, with --baseline-dist, a second server
 * serving another build to compare with. Drives Debian's Chromium with playwright-core at phone size; each run:
 *   1. signs in a new user and asks a warm-up question, so a long Markdown answer is already in the history;
 *   2. slows the CPU down by the --cpu factor (CDP Emulation.setCPUThrottlingRate; 4 is a slow phone) and asks
 *      for a `[flood]` answer of --tokens one-word tokens sent --delay ms apart;
 *   3. records, from pressing Enter to the finished answer: CDP Performance.getMetrics deltas (TaskDuration = all
 *      main-thread work, ScriptDuration, Layout/RecalcStyle), long tasks (PerformanceObserver 'longtask'), the
 *      longest gap between animation frames, and how many commits changed the streaming answer.
 * Baseline and current runs alternate, so machine noise hits both alike; medians are reported, and the ratio
 * baseline ÷ current for each figure.
 *
 * Read "busy" (task time ÷ wall time) first: near 100 % the page is saturated and renders as often as it can,
 * so its task time is just the stream's length; the difference then shows in long tasks, frame gaps, renders.
 *
 * Before/after a change (not part of `pnpm test`):
 *   cd apps/web
 *   git stash push -- src   # or check out the old files some other way
 *   npx vite build --outDir /tmp/web-baseline --emptyOutDir
 *   git stash pop
 *   npx tsx bench/render.bench.ts --baseline-dist /tmp/web-baseline
 *
 * Options: --tokens 4000  --delay 1  --runs 5  --cpu 1,4  --warmup 1000  --baseline-dist <dir>  --out <json>
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { startAppServer } from '../e2e/support/app-server';
import { ChatPage } from '../e2e/support/chat-page';
import { CHROMIUM_PATH, e2eEnabled, launchChromium } from '../e2e/support/chromium';
import { FLOOD_MARKER, floodAnswerText } from '../e2e/support/fake-model';

const { values: options } = parseArgs({
  options: {
    tokens: { type: 'string', default: '4000' },
    delay: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
    cpu: { type: 'string', default: '1,4' },
    warmup: { type: 'string', default: '1000' },
    'baseline-dist': { type: 'string' },
    out: { type: 'string' },
  },
});
const TOKENS = Number(options.tokens);
const DELAY_MS = Number(options.delay);
const RUNS = Number(options.runs);
const CPU_SLOWDOWNS = options.cpu.split(',').map(Number);
const WARMUP_TOKENS = Number(options.warmup);

interface RunResult {
  /** Wall time from Send to the finished answer, ms. */
  wallMs: number;
  /** CDP Performance.getMetrics deltas over that window, ms. */
  taskMs: number;
  scriptMs: number;
  layoutMs: number;
  styleMs: number;
  longTasks: number;
  longTaskMs: number;
  /** Longest time between two animation frames: the worst visible freeze. */
  worstFrameGapMs: number;
  /** Commits that changed the streaming answer. */
  renders: number;
}

interface Measured {
  build: string;
  cpuSlowdown: number;
  runs: RunResult[];
  median: RunResult;
}

const METRICS = {
  taskMs: 'TaskDuration',
  scriptMs: 'ScriptDuration',
  layoutMs: 'LayoutDuration',
  styleMs: 'RecalcStyleDuration',
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianResult(runs: RunResult[]): RunResult {
  const keys = Object.keys(runs[0]!) as Array<keyof RunResult>;
  return Object.fromEntries(
    keys.map((key) => [key, median(runs.map((run) => run[key]))]),
  ) as unknown as RunResult;
}

/** Installed in the page before Send: long tasks, frame gaps and the streaming answer's distinct texts. */
function installPageProbes(): void {
  const probe = { longTasks: 0, longTaskMs: 0, worstFrameGapMs: 0, renders: 0, running: true };
  (window as unknown as { __probe: typeof probe }).__probe = probe;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      probe.longTasks += 1;
      probe.longTaskMs += entry.duration;
    }
  }).observe({ type: 'longtask', buffered: false });
  let lastFrame = performance.now();
  const frame = (now: number) => {
    probe.worstFrameGapMs = Math.max(probe.worstFrameGapMs, now - lastFrame);
    lastFrame = now;
    if (probe.running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // One callback per commit that touched the streaming answer; reading its text each time would cost as much
  // as what is measured.
  new MutationObserver((records) => {
    const inAnswer = (node: Node) =>
      (node instanceof Element ? node : node.parentElement)?.closest('.live-answer');
    if (records.some((record) => inAnswer(record.target))) probe.renders += 1;
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}

type Model = { flood?: { tokens: number; delayMs: number } };

async function measureRun(
  browser: Browser,
  appUrl: string,
  model: Model,
  cpuSlowdown: number,
  run: number,
): Promise<RunResult> {
  const phone = {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  };
  const context = await browser.newContext(phone);
  try {
    const chat = new ChatPage(await context.newPage());
    await chat.open(appUrl);
    await chat.signIn(`bench-${run}-${Date.now()}`);

    // History to leave alone: a long finished answer above the one that streams.
    model.flood = { tokens: WARMUP_TOKENS, delayMs: 0 };
    await chat.send(`${FLOOD_MARKER} warm-up`);
    await chat.waitForAnswerCount(1);

    const cdp = await context.newCDPSession(chat.page);
    await cdp.send('Performance.enable');
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
    // tsx (esbuild keepNames) wraps named functions in a `__name` helper that exists only in Node.
    await chat.page.evaluate('window.__name = (fn) => fn');
    await chat.page.evaluate(installPageProbes);

    const readMetrics = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return new Map(metrics.map((metric) => [metric.name, metric.value]));
    };

    model.flood = { tokens: TOKENS, delayMs: DELAY_MS };
    await chat.composer.fill(`${FLOOD_MARKER} the long one`);
    const before = await readMetrics();
    const started = performance.now();
    await chat.composer.press('Enter');
    await chat.page.waitForFunction(
      () => document.querySelectorAll('article.message-assistant:not(.streaming)').length === 2,
      undefined,
      { timeout: 600_000, polling: 100 },
    );
    const wallMs = performance.now() - started;
    const after = await readMetrics();
    const probe = await chat.page.evaluate(() => {
      const p = (
        window as unknown as {
          __probe: Omit<RunResult, 'wallMs' | 'taskMs' | 'scriptMs' | 'layoutMs' | 'styleMs'> & {
            running: boolean;
          };
        }
      ).__probe;
      p.running = false;
      return {
        longTasks: p.longTasks,
        longTaskMs: p.longTaskMs,
        worstFrameGapMs: p.worstFrameGapMs,
        renders: p.renders,
      };
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });

    const shown = ((await chat.answers.last().locator('.markdown').textContent()) ?? '').replace(/\n+/g, '');
    if (shown !== floodAnswerText(TOKENS))
      throw new Error(`run ${run}: the finished answer is not the streamed text`);

    const delta = (name: string) => ((after.get(name) ?? 0) - (before.get(name) ?? 0)) * 1000;
    const cdpFigures = Object.fromEntries(Object.entries(METRICS).map(([key, name]) => [key, delta(name)]));
    return { wallMs, ...cdpFigures, ...probe } as RunResult;
  } finally {
    await context.close();
  }
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(7)} ms`;

function printMeasured({ build, cpuSlowdown, runs, median: m }: Measured): void {
  console.log(`\n${build}, CPU ÷${cpuSlowdown}: median of ${runs.length} runs`);
  console.log(
    `  main-thread task time   ${fmt(m.taskMs)}   (script ${m.scriptMs.toFixed(0)}, layout ${m.layoutMs.toFixed(0)}, style ${m.styleMs.toFixed(0)})`,
  );
  console.log(
    `  busy                    ${String(Math.round((100 * m.taskMs) / m.wallMs)).padStart(7)} %    of ${(m.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `  long tasks (>50 ms)     ${String(m.longTasks).padStart(7)}      totalling ${m.longTaskMs.toFixed(0)} ms`,
  );
  console.log(`  worst frame gap         ${fmt(m.worstFrameGapMs)}`);
  console.log(`  streaming renders       ${String(m.renders).padStart(7)}      for ${TOKENS} tokens`);
}

function printComparison(baseline: Measured, current: Measured): void {
  console.log(`\nbaseline ÷ current, CPU ÷${current.cpuSlowdown} (medians)`);
  for (const key of ['taskMs', 'scriptMs', 'longTaskMs', 'worstFrameGapMs', 'renders', 'wallMs'] as const) {
    const [a, b] = [baseline.median[key], current.median[key]];
    const ratio = b === 0 ? (a === 0 ? '—' : '∞') : `${(a / b).toFixed(2)}×`;
    console.log(`  ${key.padEnd(16)} ${a.toFixed(0).padStart(7)} / ${b.toFixed(0).padStart(7)} = ${ratio}`);
  }
}

async function main(): Promise<void> {
  if (!e2eEnabled)
    throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const baselineDist = options['baseline-dist'];
  console.log(
    `render bench: ${JSON.stringify({ tokens: TOKENS, delayMs: DELAY_MS, warmupTokens: WARMUP_TOKENS, runs: RUNS, cpu: CPU_SLOWDOWNS, baselineDist })}`,
  );
  const builds = [{ name: 'current', app: await startAppServer() }];
  if (baselineDist) builds.push({ name: 'baseline', app: await startAppServer({ webDist: baselineDist }) });
  const browser = await launchChromium();
  const results: Measured[] = [];
  try {
    for (const cpuSlowdown of CPU_SLOWDOWNS) {
      const runs = new Map(builds.map((build) => [build.name, [] as RunResult[]]));
      for (let run = 1; run <= RUNS; run++) {
        // Alternate which build goes first, so neither always runs on the warmer (or busier) machine.
        for (const { name, app } of run % 2 ? builds : [...builds].reverse()) {
          const r = await measureRun(browser, app.url, app.model, cpuSlowdown, run);
          console.log(
            `  CPU ÷${cpuSlowdown} run ${run} ${name.padEnd(8)}: task ${r.taskMs.toFixed(0)} ms, script ${r.scriptMs.toFixed(0)} ms, ` +
              `long tasks ${r.longTasks} (${r.longTaskMs.toFixed(0)} ms), worst frame gap ${r.worstFrameGapMs.toFixed(0)} ms, ` +
              `${r.renders} renders, ${(r.wallMs / 1000).toFixed(1)} s`,
          );
          runs.get(name)!.push(r);
        }
      }
      for (const [build, measured] of runs)
        results.push({ build, cpuSlowdown, runs: measured, median: medianResult(measured) });
    }
  } finally {
    await browser.close();
    for (const { app } of builds) await app[Symbol.asyncDispose]();
  }
  results.forEach(printMeasured);
  for (const cpuSlowdown of CPU_SLOWDOWNS) {
    const pick = (build: string) => results.find((r) => r.build === build && r.cpuSlowdown === cpuSlowdown);
    const [baseline, current] = [pick('baseline'), pick('current')];
    if (baseline && current) printComparison(baseline, current);
  }
  if (options.out)
    writeFileSync(options.out, JSON.stringify({ tokens: TOKENS, delayMs: DELAY_MS, results }, null, 2));
}

await main();
