import type { Page } from 'playwright-core';

/**
 * What a test photo shows: a swollen laptop battery on a workbench, from above or from the side, or a flat
 * green circuit board (anything that is not the battery).
 */
export type PhotoScene = 'battery' | 'battery-side' | 'board';

export interface PhotoSpec {
  scene: PhotoScene;
  width: number;
  height: number;
  type: 'image/jpeg' | 'image/png';
  /** A different seed gives different grain and noise: another photo, byte for byte. */
  seed?: number;
}

interface Delivery {
  spec: PhotoSpec;
  /** Given: the photo is pasted into the element matching `selector`, as a file named `name`. */
  paste?: { selector: string; name: string };
  /** Given: the photo is kept in the page under `window.__photos[name]`, for a drag and drop. */
  keep?: string;
}

/**
 * Draws a photo-like image on a canvas in the page (gradients, grain, a soft shadow and sensor noise, so it
 * compresses like a photo, not like a flat test card) and encodes it there. No binary fixture is committed,
 * and the browser's own encoder makes the bytes a user's browser would send.
 */
function drawPhoto({ spec, paste, keep }: Delivery): Promise<string | null> {
  const { width: w, height: h } = spec;
  let seed = spec.seed ?? 7;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');

  const bench = ctx.createLinearGradient(0, 0, w, h);
  bench.addColorStop(0, '#7d5f42');
  bench.addColorStop(0.55, '#a9835c');
  bench.addColorStop(1, '#5f4530');
  ctx.fillStyle = bench;
  ctx.fillRect(0, 0, w, h);
  ctx.globalAlpha = 0.14;
  ctx.strokeStyle = '#3a2715';
  for (let i = 0; i < 46; i++) {
    const y = rand() * h;
    ctx.lineWidth = 1 + rand() * 4;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.bezierCurveTo(w * 0.3, y + (rand() - 0.5) * 50, w * 0.7, y + (rand() - 0.5) * 50, w, y + (rand() - 0.5) * 40);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;

  const shadow = (blur: number, offset: number) => {
    ctx.shadowColor = 'rgba(0, 0, 0, 0.5)';
    ctx.shadowBlur = blur;
    ctx.shadowOffsetY = offset;
  };
  const noShadow = () => {
    ctx.shadowColor = 'transparent';
    ctx.shadowBlur = 0;
    ctx.shadowOffsetY = 0;
  };

  if (spec.scene === 'board') {
    shadow(w * 0.02, w * 0.01);
    ctx.fillStyle = '#1f6b3a';
    ctx.fillRect(w * 0.15, h * 0.18, w * 0.7, h * 0.64);
    noShadow();
    ctx.fillStyle = '#222';
    for (let i = 0; i < 6; i++) ctx.fillRect(w * (0.2 + i * 0.1), h * 0.3, w * 0.07, h * 0.12);
    ctx.strokeStyle = '#c9a13b';
    ctx.lineWidth = 2;
    for (let i = 0; i < 14; i++) {
      ctx.beginPath();
      ctx.moveTo(w * 0.18, h * (0.5 + i * 0.02));
      ctx.lineTo(w * 0.82, h * (0.5 + i * 0.02));
      ctx.stroke();
    }
  } else if (spec.scene === 'battery') {
    const [x, y, bw, bh] = [w * 0.17, h * 0.2, w * 0.66, h * 0.56];
    // The pouch, puffed up: its edges bow outwards.
    shadow(w * 0.035, w * 0.015);
    const pouch = ctx.createRadialGradient(x + bw * 0.45, y + bh * 0.4, bw * 0.05, x + bw / 2, y + bh / 2, bw * 0.62);
    pouch.addColorStop(0, '#f4f5f6');
    pouch.addColorStop(0.6, '#c3c8ce');
    pouch.addColorStop(1, '#8b939c');
    ctx.fillStyle = pouch;
    ctx.beginPath();
    ctx.moveTo(x, y + bh * 0.1);
    ctx.quadraticCurveTo(x + bw / 2, y - bh * 0.16, x + bw, y + bh * 0.1);
    ctx.quadraticCurveTo(x + bw + bw * 0.06, y + bh / 2, x + bw, y + bh * 0.9);
    ctx.quadraticCurveTo(x + bw / 2, y + bh * 1.16, x, y + bh * 0.9);
    ctx.quadraticCurveTo(x - bw * 0.06, y + bh / 2, x, y + bh * 0.1);
    ctx.fill();
    noShadow();
    // Wrinkles where the foil stretched.
    ctx.strokeStyle = 'rgba(80, 88, 96, 0.35)';
    ctx.lineWidth = Math.max(1, w * 0.002);
    for (let i = 0; i < 9; i++) {
      ctx.beginPath();
      const sx = x + bw * (0.08 + rand() * 0.84);
      ctx.moveTo(sx, y + bh * 0.05);
      ctx.quadraticCurveTo(sx + (rand() - 0.5) * bw * 0.1, y + bh * 0.25, sx + (rand() - 0.5) * bw * 0.08, y + bh * 0.4);
      ctx.stroke();
    }
    // The label, stretched over the bulge.
    ctx.save();
    ctx.translate(x + bw * 0.5, y + bh * 0.55);
    ctx.rotate(-0.02);
    ctx.fillStyle = '#16181c';
    ctx.fillRect(-bw * 0.3, -bh * 0.16, bw * 0.6, bh * 0.32);
    ctx.fillStyle = '#f0c419';
    ctx.beginPath();
    ctx.moveTo(-bw * 0.25, bh * 0.08);
    ctx.lineTo(-bw * 0.2, -bh * 0.08);
    ctx.lineTo(-bw * 0.15, bh * 0.08);
    ctx.closePath();
    ctx.fill();
    ctx.fillStyle = '#e8e8e8';
    ctx.font = `600 ${Math.round(bh * 0.07)}px sans-serif`;
    ctx.fillText('Li-ion Polymer', -bw * 0.1, -bh * 0.03);
    ctx.font = `${Math.round(bh * 0.055)}px sans-serif`;
    ctx.fillText('11.4V  4400mAh  50Wh', -bw * 0.1, bh * 0.07);
    ctx.restore();
    // The flex cable to the connector.
    ctx.fillStyle = '#d9822b';
    ctx.fillRect(x + bw * 0.78, y + bh * 0.92, bw * 0.1, bh * 0.25);
    ctx.fillStyle = '#333';
    ctx.fillRect(x + bw * 0.76, y + bh * 1.15, bw * 0.14, bh * 0.06);
  } else {
    // From the side: a slab whose top swells in the middle.
    const [x, y, bw, bh] = [w * 0.12, h * 0.5, w * 0.76, h * 0.12];
    shadow(w * 0.03, w * 0.012);
    const side = ctx.createLinearGradient(0, y - bh, 0, y + bh);
    side.addColorStop(0, '#eef0f2');
    side.addColorStop(1, '#868e97');
    ctx.fillStyle = side;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.bezierCurveTo(x + bw * 0.25, y - bh * 2.2, x + bw * 0.75, y - bh * 2.2, x + bw, y);
    ctx.lineTo(x + bw, y + bh);
    ctx.lineTo(x, y + bh);
    ctx.closePath();
    ctx.fill();
    noShadow();
  }

  // Sensor noise, and a vignette as a phone camera's lens gives.
  const vignette = ctx.createRadialGradient(w / 2, h / 2, Math.min(w, h) * 0.35, w / 2, h / 2, Math.max(w, h) * 0.75);
  vignette.addColorStop(0, 'rgba(0, 0, 0, 0)');
  vignette.addColorStop(1, 'rgba(0, 0, 0, 0.35)');
  ctx.fillStyle = vignette;
  ctx.fillRect(0, 0, w, h);
  const pixels = ctx.getImageData(0, 0, w, h);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const grain = (rand() - 0.5) * 22;
    data[i] = data[i]! + grain;
    data[i + 1] = data[i + 1]! + grain;
    data[i + 2] = data[i + 2]! + grain;
  }
  ctx.putImageData(pixels, 0, 0);

  return new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, spec.type, 0.88)).then(async (blob) => {
    if (!blob) throw new Error('the canvas could not be encoded');
    if (paste) {
      const target = document.querySelector(paste.selector);
      if (!target) throw new Error(`nothing to paste into at ${paste.selector}`);
      const data = new DataTransfer();
      data.items.add(new File([blob], paste.name, { type: spec.type }));
      target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      return null;
    }
    if (keep) {
      const store = ((window as unknown as { __photos?: Record<string, File> }).__photos ??= {});
      store[keep] = new File([blob], keep, { type: spec.type });
      return null;
    }
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  });
}

/** The photo's bytes, for a file chooser. */
export async function photoBytes(page: Page, spec: PhotoSpec): Promise<Buffer> {
  const base64 = await page.evaluate(drawPhoto, { spec });
  if (!base64) throw new Error('no photo came back');
  return Buffer.from(base64, 'base64');
}

/** Pastes the photo into the element at `selector` (the composer's field), as the clipboard would. */
export async function pastePhoto(page: Page, selector: string, name: string, spec: PhotoSpec): Promise<void> {
  await page.evaluate(drawPhoto, { spec, paste: { selector, name } });
}

/**
 * Drags the photos into the window, waits for the drop target, and drops them on it, as a file manager would.
 * `targetSelector` is the drop target the page should raise.
 */
export async function dropPhotos(page: Page, targetSelector: string, photos: Array<{ name: string; spec: PhotoSpec }>): Promise<void> {
  for (const { name, spec } of photos) await page.evaluate(drawPhoto, { spec, keep: name });
  const names = photos.map((photo) => photo.name);
  const transfer = await page.evaluateHandle((kept) => {
    const store = (window as unknown as { __photos: Record<string, File> }).__photos;
    const data = new DataTransfer();
    for (const name of kept) data.items.add(store[name]!);
    return data;
  }, names);
  await page.evaluate((data) => {
    document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, transfer);
  await page.locator(targetSelector).waitFor();
  await page.evaluate(
    ({ data, selector }) => {
      const target = document.querySelector(selector);
      if (!target) throw new Error(`no drop target at ${selector}`);
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { data: transfer, selector: targetSelector },
  );
  await transfer.dispose();
}
