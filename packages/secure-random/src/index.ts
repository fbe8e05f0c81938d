export { randomBytes } from './random-bytes.js';
export { randomString } from './random-string.js';
