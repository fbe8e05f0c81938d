export { type FollowedKeys, type FollowKeysOptions, followKeys } from './follow-keys.js';
export {
  decide,
  evolve,
  initial,
  isValidAfter,
  type Key,
  type KeyCommand,
  type KeyEvent,
  KeyMismatch,
  keyDecider,
  UnknownKey,
} from './key.js';
export { KeyBook, type KeyView } from './key-book.js';
export { keyCodec, storedKeys } from './key-events.js';
export { createNewFile } from './new-file.js';
