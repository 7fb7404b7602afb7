/** `width`×`height` scaled down (never up) to fit a `box`×`box` square, in whole pixels, at least 1. */
export function fitWithin(width: number, height: number, box: number): { width: number; height: number } {
  if (!(width > 0) || !(height > 0)) return { width: box, height: box };
  const scale = Math.min(1, box / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}
