// Front door of the spend room: budgets from payment challenges (Intercept's `spend:`).
export { budgetOf, SpendLedger, type SpendBudget, type SpendVerdict } from './ledger.js';
export { CREDENTIAL_META_KEY, PAYMENT_REQUIRED_CODE, paidPrice, priceOfChallenge, priceOfPaymentRequired, type Price, type PriceReading } from './challenge.js';
export { decimalText, formatAmount, fromBaseUnits, parseBudget, SCALE_DIGITS } from '../policy/index.js';
