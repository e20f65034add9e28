// The CLIP library's public surface, for `pipe predict`, zero-shot evaluation and other stages.
export { loadClipModel, validateModelFolder, towerHash, ModelFolderError, CLIP_DTYPES, CLIP_PROVIDERS } from './model.js';
export type { ClipModel, ClipDtype, ClipProvider, LoadOptions, Tower } from './model.js';
export { embedImages, embedImageFiles } from './embed.js';
export type { EmbedImagesOptions, ImageItem } from './embed.js';
export { EmbeddingCache } from './cache.js';
export { PREPROCESS_VERSION } from './preprocess.js';
export { generateClipModel, TINY, VIT_B32 } from './generate.js';
export { fetchModel, FetchError } from './fetch.js';
