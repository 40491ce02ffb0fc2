// The classifier's vocabulary: general English verbs and nouns of tool names and descriptions.
// Written for toolgate; grouped by what the word usually means for the safety of a call.

/** What a verb does to the world. */
export type VerbClass = 'read' | 'write' | 'destroy' | 'exec' | 'pay';

const READ_VERBS = `
  get list read search find fetch retrieve query lookup look show view describe inspect check count
  explore scan analyze analyse audit monitor poll diff compare validate verify preview explain
  summarize summarise extract resolve ping echo calculate compute discover introspect estimate
  print render crawl scrape map screenshot capture paginate browse research ask lint parse open is has
  exists assess think
  translate measure whoami locate identify detect recommend suggest return obtain access display
  see observe tail grep glob stat peek sample test dryrun snapshot export load
  filter sort rank list search enumerate diagnose review surface convert format fetch
  watch trace screen forecast predict classify geocode transcribe whois stream
`;

const WRITE_VERBS = `
  create add update set edit modify write put post patch insert upsert save store upload push import
  download report ensure prepare propose draft
  send publish submit comment reply assign unassign tag move rename copy duplicate clone merge fork
  star unstar mark dismiss approve reject close reopen lock unlock enable disable toggle transition
  invite share schedule register subscribe unsubscribe follow unfollow like react pin unpin attach
  detach link connect disconnect configure apply click fill type press hover drag scroll
  resize emulate select handle manage log confirm request restore rebase new pull swap tap swipe
  make init initialize initialise setup append prepend replace overwrite change complete finish
  finalize finalise archive unarchive sync commit checkout grant message email notify respond
  book reserve vote annotate label highlight draw paint rotate place position embed index
  remember memorize record track note bookmark claim accept decline escalate provision
  rollback revert reply reassign mute unmute hide unhide focus sign login
  logout authenticate authorize authorise invalidate compress decompress zip unzip
  modify assign publish unpublish deactivate activate ban unban block unblock approve cancel
  deny flag unflag switch go trash untrash protect unprotect unapprove acknowledge freeze unfreeze
  reschedule snooze remind favorite favourite upvote downvote retweet repost enroll unenroll amend squash
  cherrypick reorder categorize categorise organize organise unset silence unsilence adjust renew extend allow release
  taint untaint broadcast impersonate
`;

const DESTROY_VERBS = `
  delete remove rm del destroy drop purge prune erase wipe truncate clear reset revoke uninstall
  terminate kill unlink discard forget shred nuke obliterate deprovision decommission evict expunge
  flush empty clean cleanup recreate rebuild reimage recycle void expire retire deregister unregister teardown
`;

const EXEC_VERBS = `
  execute exec run eval evaluate invoke trigger call launch start stop restart spawn deploy build
  compile navigate goto wait generate transform process dispatch reboot perform simulate
  shell bash retry replay rerun benchmark
  install reinstall upgrade downgrade scale rollout redeploy drain cordon uncordon reload promote
  shutdown poweroff poweron powercycle boot expose play pause unpause resume suspend end abort migrate reindex backfill mount unmount transpile signal power turnon turnoff
  train finetune orchestrate autoscale hibernate wake enqueue sudo
`;

const PAY_VERBS = `pay charge refund purchase buy sell liquidate withdraw deposit donate tip invoice payout credit debit stake unstake mint topup repay borrow lend settle redeem reimburse bid`;

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w.length > 0);
}

/** Verb → class. Later groups win, so a verb listed twice takes the more severe class. */
export const VERBS: ReadonlyMap<string, VerbClass> = (() => {
  const m = new Map<string, VerbClass>();
  for (const w of words(READ_VERBS)) m.set(w, 'read');
  for (const w of words(WRITE_VERBS)) m.set(w, 'write');
  for (const w of words(EXEC_VERBS)) m.set(w, 'exec');
  for (const w of words(DESTROY_VERBS)) m.set(w, 'destroy');
  for (const w of words(PAY_VERBS)) m.set(w, 'pay');
  // A few verbs are read here although listed elsewhere for prose: keep the read sense in names.
  return m;
})();

/**
 * Words that are verbs at the start of a name but usually nouns further in
 * (`log_event` writes; `search_logs` reads; `pull_request_review_write` writes).
 */
export const WEAK_VERBS: ReadonlySet<string> = new Set(
  words(`
    log order post comment tag label test record trace map report watch review alert schedule index
    message email note store sample stat type book sort filter format block sign scale
    position place open new snapshot screenshot diff export load hide track request draft screen end
    forecast bid mount process estimate stream release power share
  `),
);

/** Verbs that, applied to a page, tab, window or URL, drive a browser: Execute. */
export const BROWSER_VERBS: ReadonlySet<string> = new Set(
  words('navigate goto go open new select close switch reload refresh back forward focus visit connect attach'),
);
export const BROWSER_NOUNS: ReadonlySet<string> = new Set(words('page pages tab tabs browser window windows url urls website site'));

/** Nouns naming money movement or billing records: Financial. */
export const FINANCIAL_NOUNS: ReadonlySet<string> = new Set(
  words(`
    payment payments charge charges refund refunds invoice invoices subscription subscriptions
    payout payouts billing withdrawal withdrawals deposit deposits purchase purchases
    remittance remittances paymentintent paymentintents paymentlink checkout_session wallet
    wallets escrow payroll donation donations bill bills expense expenses creditnote creditnotes
    journalentry journalentries manualjournal manualjournals paymentmethod paymentmethods chargeback chargebacks
    salary salaries salaryslip salaryslips payslip payslips wage wages revenue revenues
    ledger ledgers receipt receipts vendorcredit vendorcredits profitloss balancesheet
    trialbalance cashflow payable payables receivable receivables reconciliation spending budget
    budgets fee fees debit debits commission commissions giftcard giftcards spend bankstatement accountstatement
  `),
);

/**
 * Nouns that name money only among trading or commerce words (`place_order` on an exchange,
 * `list_transactions` of a bank; not `sort_order` or a database transaction).
 */
export const CONTEXT_MONEY_NOUNS: ReadonlySet<string> = new Set(words('order orders trade trades transaction transactions margin journal journals leverage'));

/** Words that make an order, a trade or a transaction one of money. */
export const TRADING_WORDS: ReadonlySet<string> = new Set(
  words(`market exchange exchanges futures spot limit buy sell side symbol ticker stock stocks crypto
         broker brokerage position positions leverage portfolio sale sales customer customers
         checkout cart bank banking accounting ledger quantity price amount currency trading
         trader invoice invoices refund payment payments billed billing financial account accounts
         debit debits credit credits txhash onchain blockchain gas payee payees
         merchant merchants plaid`),
);

/** Catalogue objects: creating or changing one records no payment, whatever amount it carries. */
export const CATALOGUE_NOUNS: ReadonlySet<string> = new Set(
  words('price prices pricing product products discount discounts coupon coupons promotion promotions promo promocode promocodes'),
);

/** Words that make a transaction one of a database, not of money. */
export const DATABASE_WORDS: ReadonlySet<string> = new Set(words('sql database db begin commit rollback isolation savepoint postgres mysql sqlite'));

/** Objects of infrastructure: applying, syncing or rolling back one of these runs it (Execute). */
export const INFRA_NOUNS: ReadonlySet<string> = new Set(
  words(`manifest manifests chart charts helm release releases deployment deployments stack stacks
         compose terraform kustomization application applications app apps gitops cluster clusters
         node nodes pod pods vm vms instance instances droplet droplets dyno dynos
         container containers infrastructure kubernetes k8s kubectl daemonset statefulset replica replicas
         git pipeline pipelines job jobs build builds workflow workflows deploy deploys`),
);

/** What runs: creating, changing, pausing or resuming one changes what runs (Execute). */
export const RUNNING_NOUNS: ReadonlySet<string> = new Set(
  words('deployment deployments cron crons cronjob cronjobs trigger triggers nodepool nodepools nodegroup nodegroups'),
);

/** What runs as a whole: creating one runs it, when it is the name's last noun (`create_pipeline`, not `create_pipeline_variable`). */
export const RUN_HEAD_NOUNS: ReadonlySet<string> = new Set(words('pipeline pipelines workflowrun workflowruns build builds job jobs'));

/** Things a wait can be on: waiting for one to finish only reads its status. */
export const AWAITED_NOUNS: ReadonlySet<string> = new Set(
  words('pipeline pipelines job jobs build builds process processes task tasks operation operations deployment deployments run runs'),
);

/** Discussions: resolving one marks it done (Write), unlike resolving a name (Read). */
export const THREAD_NOUNS: ReadonlySet<string> = new Set(
  words('thread threads comment comments discussion discussions conversation conversations issue issues alert alerts incident incidents'),
);

/** Machines: creating or provisioning one starts it (Execute); configuring one is a Write. */
export const MACHINE_NOUNS: ReadonlySet<string> = new Set(words('droplet droplets vm vms virtualmachine virtualmachines cluster clusters instance instances'));

/** Write verbs that bring a new machine up. */
export const MACHINE_STARTS: ReadonlySet<string> = new Set(words('create new provision'));

/** Remote shells: connecting to one opens a session that runs commands (Execute). */
export const REMOTE_SHELL_NOUNS: ReadonlySet<string> = new Set(words('ssh sftp telnet rdp shell terminal'));

/** Write verbs that change a running thing when applied to one of RUNNING_NOUNS. */
export const RUNNING_CHANGES: ReadonlySet<string> = new Set(words('create new update pause resume enable disable set add schedule'));

/** Things that run while open: closing or ending one stops what runs (Execute). */
export const SESSION_NOUNS: ReadonlySet<string> = new Set(words('terminal terminals session sessions shell shells pty tty process processes ssh'));

/** Write verbs that stop one of SESSION_NOUNS. */
export const SESSION_STOPS: ReadonlySet<string> = new Set(words('close end exit detach disconnect'));

/** Write verbs that, applied to infrastructure, change what runs: Execute. */
export const INFRA_WRITES: ReadonlySet<string> = new Set(words('apply sync rollback revert restart cancel resize pause resume suspend'));

/** Machines and disks: a snapshot or backup of one is stored (Write), unlike a page's screenshot. */
export const STORED_SNAPSHOT_OBJECTS: ReadonlySet<string> = new Set(
  words(
    'droplet droplets vm vms virtualmachine virtualmachines instance instances volume volumes disk disks server servers database databases db cluster clusters',
  ),
);

/** Verbs that empty a cache: it fills again by itself, nothing is lost (Write). */
export const CACHE_CLEARS: ReadonlySet<string> = new Set(words('clear flush delete purge invalidate reset empty discard'));
export const CACHE_NOUNS: ReadonlySet<string> = new Set(words('cache caches cached'));

/** Things attached to an object: removing one from it loses nothing (Write). */
export const ATTACHMENT_NOUNS: ReadonlySet<string> = new Set(words('tag tags label labels reaction reactions emoji star'));

/** Verbs that replace a credential: the old one stops working (Destructive). */
export const CREDENTIAL_ROTATIONS: ReadonlySet<string> = new Set(words('rotate regenerate roll'));

/** Saved states: restoring or reverting to one overwrites the current state (Destructive). */
export const SAVED_STATE_NOUNS: ReadonlySet<string> = new Set(
  words('snapshot snapshots backup backups checkpoint checkpoints revision revisions image images version versions'),
);

/** Verbs that put a saved state back over the current one. */
export const RESTORE_VERBS: ReadonlySet<string> = new Set(words('restore revert rollback'));

/** Words that make "subscription" mean a notification or event feed, not a paid plan. */
export const FEED_WORDS: ReadonlySet<string> = new Set(
  words('notification notifications event events webhook webhooks topic topics channel channels feed feeds rss alert alerts pubsub resource resources'),
);

/** Words that make "transfer" mean moving money rather than moving ownership of an object. */
export const MONEY_WORDS: ReadonlySet<string> = new Set(
  words('fund funds money payment payments amount currency balance bank wire crypto token tokens usdc eth btc sol usd eur'),
);

/** Nouns naming code, commands or queries: running them is Execute. */
export const CODE_NOUNS: ReadonlySet<string> = new Set(
  words(
    'code script scripts sql command commands cmd shell bash javascript js python cypher query queries terminal repl program snippet expression powershell',
  ),
);

/** Nouns naming queries (for tools that say they only read). */
export const QUERY_NOUNS: ReadonlySet<string> = new Set(words('query queries sql cypher select search'));

/** Nouns whose reading exposes secrets: a read of them is Medium, not Low. */
export const SECRET_NOUNS: ReadonlySet<string> = new Set(
  words('secret secrets password passwords credential credentials token tokens key keys env environment apikey private privatekey cookie cookies session'),
);

/** Nouns whose change touches access control: a write to them is High. */
export const ACCESS_NOUNS: ReadonlySet<string> = new Set(
  words(
    'permission permissions role roles access acl acls policy policies member members collaborator collaborators owner ownership admin secret secrets password credential credentials key keys firewall',
  ),
);

/** Write verbs with a reach beyond the caller: messages to others, merges, installs. High. */
export const FAR_REACHING_WRITES: ReadonlySet<string> = new Set(
  words(
    'send publish post email message notify invite share grant merge push transfer overwrite replace cancel install upgrade downgrade restore revert rollback deactivate disable ban block invalidate provision unpublish',
  ),
);

/** Words that widen a deletion to many objects or a whole store: Critical. */
export const BULK_WORDS: ReadonlySet<string> = new Set(
  words(
    'all bulk batch entire everything multiple database databases db repository repositories repo repos project projects account accounts organization organisation org bucket buckets cluster clusters namespace namespaces table tables collection collections index indexes volume volumes',
  ),
);

/** Execute verbs of little consequence on their own. */
export const MILD_EXEC: ReadonlySet<string> = new Set(words('wait generate simulate transform process'));

/** Words a description may start with before its verb ("Use this tool to create …"). */
export const FILLER: ReadonlySet<string> = new Set(
  words(`this tool use used to allows allow you the a an lets let helps help can will for that it
         please we i mcp function endpoint api quickly easily directly programmatically also simply
         just tries try attempts attempt which may should`),
);

/** Compound nouns that look like verb phrases: joined before the verb is looked for. */
export const COMPOUNDS: ReadonlyArray<readonly [string, string, string]> = [
  ['pull', 'request', 'pullrequest'],
  ['pull', 'requests', 'pullrequests'],
  ['merge', 'request', 'mergerequest'],
  ['merge', 'requests', 'mergerequests'],
  ['look', 'up', 'lookup'],
  ['set', 'up', 'setup'],
  ['sign', 'in', 'login'],
  ['log', 'in', 'login'],
  ['log', 'out', 'logout'],
  ['dry', 'run', 'dryrun'],
  ['who', 'am', 'whoami'],
  ['check', 'out', 'checkout'],
  ['payment', 'intent', 'paymentintent'],
  ['payment', 'intents', 'paymentintents'],
  ['payment', 'link', 'paymentlink'],
  ['payment', 'links', 'paymentlink'],
  ['checkout', 'session', 'checkout_session'],
  ['checkout', 'sessions', 'checkout_session'],
  ['credit', 'note', 'creditnote'],
  ['credit', 'notes', 'creditnotes'],
  ['journal', 'entry', 'journalentry'],
  ['manual', 'journal', 'manualjournal'],
  ['turn', 'on', 'turnon'],
  ['turn', 'off', 'turnoff'],
  ['power', 'on', 'poweron'],
  ['power', 'off', 'poweroff'],
  ['power', 'cycle', 'powercycle'],
  ['shut', 'down', 'shutdown'],
  ['node', 'pool', 'nodepool'],
  ['node', 'pools', 'nodepools'],
  ['node', 'group', 'nodegroup'],
  ['node', 'groups', 'nodegroups'],
  ['1', 'click', 'oneclick'],
  ['one', 'click', 'oneclick'],
  ['salary', 'slip', 'salaryslip'],
  ['salary', 'slips', 'salaryslips'],
  ['work', 'order', 'workorder'],
  ['work', 'orders', 'workorders'],
  ['manual', 'journals', 'manualjournals'],
  ['journal', 'entries', 'journalentries'],
  ['payment', 'method', 'paymentmethod'],
  ['payment', 'methods', 'paymentmethods'],
  ['roll', 'out', 'rollout'],
  ['port', 'forward', 'portforward'],
  ['port', 'forwarding', 'portforward'],
  ['vendor', 'credit', 'vendorcredit'],
  ['vendor', 'credits', 'vendorcredits'],
  ['profit', 'loss', 'profitloss'],
  ['profit', 'and', 'profitloss'],
  ['balance', 'sheet', 'balancesheet'],
  ['trial', 'balance', 'trialbalance'],
  ['cash', 'flow', 'cashflow'],
  ['accounts', 'payable', 'payable'],
  ['accounts', 'receivable', 'receivable'],
  ['roll', 'back', 'rollback'],
  ['top', 'up', 'topup'],
  ['bank', 'statement', 'bankstatement'],
  ['account', 'statement', 'accountstatement'],
  ['tear', 'down', 'teardown'],
  ['deploy', 'key', 'deploykey'],
  ['deploy', 'keys', 'deploykeys'],
  ['checkout', 'link', 'paymentlink'],
  ['checkout', 'links', 'paymentlink'],
  ['gift', 'card', 'giftcard'],
  ['gift', 'cards', 'giftcards'],
];

const ALL_WORDS: ReadonlySet<string> = new Set([
  ...VERBS.keys(),
  ...FINANCIAL_NOUNS,
  ...CODE_NOUNS,
  ...SECRET_NOUNS,
  ...BULK_WORDS,
  ...BROWSER_NOUNS,
  ...FEED_WORDS,
  ...CONTEXT_MONEY_NOUNS,
  ...INFRA_NOUNS,
  ...SAVED_STATE_NOUNS,
]);

/** Map an inflected word to the form the vocabulary knows (`creates` → create, `listing` → list). */
export function lemma(word: string): string {
  if (ALL_WORDS.has(word)) return word;
  const candidates: string[] = [];
  if (word.endsWith('ies')) candidates.push(word.slice(0, -3) + 'y');
  if (word.endsWith('es')) candidates.push(word.slice(0, -2));
  if (word.endsWith('s')) candidates.push(word.slice(0, -1));
  if (word.endsWith('ied')) candidates.push(word.slice(0, -3) + 'y');
  if (word.endsWith('ed')) candidates.push(word.slice(0, -2), word.slice(0, -1), word.slice(0, -3));
  if (word.endsWith('ing')) candidates.push(word.slice(0, -3), word.slice(0, -3) + 'e', word.slice(0, -4));
  for (const c of candidates) if (c.length > 1 && ALL_WORDS.has(c)) return c;
  return word;
}
