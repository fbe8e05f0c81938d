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
export { keyCodec, storedKeys } from './key-events.js';
