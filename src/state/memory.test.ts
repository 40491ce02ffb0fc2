import { counterStoreContract } from '../../test/support/counter-store-contract.js';
import { MemoryCounterStore } from './memory.js';

counterStoreContract('MemoryCounterStore', {
  open: async () => new MemoryCounterStore(),
  rows: (s) => (s as MemoryCounterStore).size,
});
