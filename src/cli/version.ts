export { VERSION } from '../runtime/version.js';
