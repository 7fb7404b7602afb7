/** What an upload may be. Kept apart from the sharp pipeline so transports can read them without loading sharp. */
export interface ImageLimits {
  /** Refused before anything is decoded: the server's `MAX_IMAGE_BYTES`. */
  maxBytes: number;
  /** Width × height the header may declare. A 48 MP phone photo fits; a decompression bomb does not. */
  maxPixels: number;
  /** Longest side the header may declare. */
  maxSide: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, maxSide: 12_000 };

/** What is stored and sent to the model: OpenAI scales anything larger to fit 2048 × 2048 anyway. */
export const MAX_LONG_SIDE = 2048;
export const THUMBNAIL_LONG_SIDE = 256;
export const THUMBNAIL_CONTENT_TYPE = 'image/webp';
