/**
 * The image pipeline, sharp included, as `@fixthread/core/images`. Kept off the root export so nothing that
 * imports `@fixthread/core` for its types or errors loads a native module; the engine loads it on first use.
 */
export { normaliseImage, type NormalisedImage, type EncodedImage } from './normalise-image';
export { sniffImageType, type ImageKind } from './sniff-image-type';
export { DEFAULT_IMAGE_LIMITS, MAX_LONG_SIDE, THUMBNAIL_LONG_SIDE, THUMBNAIL_CONTENT_TYPE, type ImageLimits } from './image-limits';
export { imageTokens, type ImageDetail, type ImageTokenCount } from './image-tokens';
