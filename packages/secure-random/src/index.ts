export { randomBytes } from './random-bytes.js';
