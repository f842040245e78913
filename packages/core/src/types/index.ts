export type * from './chat.js';
export type * from './embedding.js';
export type * from './stream.js';
