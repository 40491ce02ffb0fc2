// Front door of the text room: text meant for people (terminal-safe strings, "did you mean").
export { printable } from './printable.js';
export { closestNames, didYouMean } from './suggest.js';
