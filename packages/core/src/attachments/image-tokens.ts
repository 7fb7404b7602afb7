/**
 * What an image costs in prompt tokens, counted the way OpenAI's vision guide ("Images and vision",
 * calculating costs) says each model family meters it. Families it does not list get the GPT-4o figures,
 * marked as an estimate; so does `auto` detail, which lets the model pick and is counted as `high`.
 */
export type ImageDetail = 'low' | 'high' | 'auto';

export interface ImageTokenCount {
  tokens: number;
  /** True when the model's metering is not documented, or the detail was left to the model. */
  estimated: boolean;
}

interface TileMetering {
  kind: 'tiles';
  /** `low` detail costs this alone; `high` adds `perTile` for every 512 px tile. */
  base: number;
  perTile: number;
}

interface PatchMetering {
  kind: 'patches';
  /** Tokens per 32 px patch; detail does not change the cost. */
  multiplier: number;
}

type Metering = TileMetering | PatchMetering;

const tiles = (base: number, perTile: number): TileMetering => ({ kind: 'tiles', base, perTile });
const patches = (multiplier: number): PatchMetering => ({ kind: 'patches', multiplier });

/** Longest names first: a model id is matched by family, with or without a dated suffix. */
const METERING_BY_FAMILY: [family: string, metering: Metering][] = [
  ['gpt-4o-mini', tiles(2833, 5667)],
  ['gpt-4.1-mini', patches(1.62)],
  ['gpt-4.1-nano', patches(2.46)],
  ['gpt-5-mini', patches(1.62)],
  ['gpt-5-nano', patches(2.46)],
  ['gpt-5-chat-latest', tiles(70, 140)],
  ['computer-use-preview', tiles(65, 129)],
  ['o4-mini', patches(1.72)],
  ['gpt-4o', tiles(85, 170)],
  ['gpt-4.1', tiles(85, 170)],
  ['gpt-4.5', tiles(85, 170)],
  ['gpt-5', tiles(70, 140)],
  ['o1-pro', tiles(75, 150)],
  ['o1', tiles(75, 150)],
  ['o3', tiles(75, 150)],
];

const DEFAULT_METERING = tiles(85, 170);

const TILE = 512;
const TILE_FIT = 2048;
const TILE_SHORT_SIDE = 768;
const PATCH = 32;
const MAX_PATCHES = 1536;

export function imageTokens(model: string, width: number, height: number, detail: ImageDetail = 'auto'): ImageTokenCount {
  const metering = meteringOf(model);
  const estimated = metering === undefined || detail === 'auto';
  const chosen = metering ?? DEFAULT_METERING;
  const tokens = chosen.kind === 'tiles' ? tileTokens(chosen, width, height, detail) : patchTokens(chosen, width, height);
  return { tokens, estimated };
}

/** `openai/gpt-4o` (a router's name for it) and `gpt-4o-2024-08-06` are both GPT-4o; `gpt-5.1` is not GPT-5. */
function meteringOf(model: string): Metering | undefined {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return METERING_BY_FAMILY.find(([family]) => name === family || name.startsWith(`${family}-`))?.[1];
}

/**
 * Fit inside 2048 × 2048, then shrink so the short side is 768 (never enlarged: a 128 × 64 image is billed as
 * one tile), then count 512 px tiles. Scaled sides are rounded, not truncated, which is what the API bills at
 * the edges (measured on OpenAI's forum: 2049 × 513 bills 8 tiles, its short side 512.75 → 513; 2050 × 513
 * bills 4, 512.4995 → 512).
 */
function tileTokens(metering: TileMetering, width: number, height: number, detail: ImageDetail): number {
  if (detail === 'low') return metering.base;
  const fit = Math.min(1, TILE_FIT / Math.max(width, height));
  const [fitWidth, fitHeight] = [Math.round(width * fit), Math.round(height * fit)];
  const shrink = Math.min(1, TILE_SHORT_SIDE / Math.min(fitWidth, fitHeight));
  const [w, h] = [Math.round(fitWidth * shrink), Math.round(fitHeight * shrink)];
  return metering.base + metering.perTile * Math.ceil(w / TILE) * Math.ceil(h / TILE);
}

/**
 * 32 px patches covering the image, at most 1536: a larger image is scaled down until whole patches of it fit
 * that many, as the guide's steps describe, then the model's multiplier applies.
 */
function patchTokens(metering: PatchMetering, width: number, height: number): number {
  let count = patchesCovering(width, height);
  if (count > MAX_PATCHES) {
    let scale = Math.sqrt((PATCH * PATCH * MAX_PATCHES) / (width * height));
    const across = (width * scale) / PATCH;
    const down = (height * scale) / PATCH;
    scale *= Math.min(Math.floor(across) / across, Math.floor(down) / down);
    count = Math.min(MAX_PATCHES, patchesCovering(width * scale, height * scale));
  }
  return Math.ceil(count * metering.multiplier);
}

/** Scaled sides land a hair above a whole number of patches (33.000000000000004); that is not a 34th. */
function patchesCovering(width: number, height: number): number {
  const across = (side: number) => Math.ceil(side / PATCH - 1e-9);
  return across(width) * across(height);
}
