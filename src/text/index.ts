// Front door of the text room: what may reach a human's terminal.
export { printable } from './printable.js';
