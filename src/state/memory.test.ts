import { counterStoreContract } from './contract.js';
import { MemoryCounterStore } from './memory.js';

counterStoreContract('MemoryCounterStore', {
  open: async () => new MemoryCounterStore(),
  rows: (s) => (s as MemoryCounterStore).size,
});
