// The learned second opinion (model.ts): it may raise a Read or Write verdict to a high-risk class
// when it is sure, never lower one, and it reads a tool without what its whole listing shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClassificationDetail } from './classify.js';
import { classifyTool, classifyTools } from './index.js';
import { BIAS, listingFeatures, modelFeatures, RAISE_AT, RAISE_READ_TO_MONEY_AT, type RiskModel, raises, riskModel, withSecondOpinion } from './model.js';

/** A model that knows one word per class, strongly: enough to make it sure, or unsure. */
function tiny(weight: number): RiskModel {
  //          Read  Write Execute Destr. Financial
  const w = (k: number): number[] => [0, 0, 0, 0, 0].map((_, i) => (i === k ? weight : 0));
  return {
    about: 'test',
    trainedOn: { tools: 10, servers: 1, sets: ['test'] },
    classes: ['Read', 'Write', 'Execute', 'Destructive', 'Financial'],
    weights: { [BIAS]: [0, 0, 0, 0, 0], 'n:fetch': w(0), 'n:note': w(1), 'n:rollout': w(2), 'n:wipe': w(3), 'n:payout': w(4) },
  };
}

const verdict = (category: ClassificationDetail['category'], risk: ClassificationDetail['risk'] = 'Medium'): ClassificationDetail => ({
  category,
  risk,
  confidence: 0.9,
  reasons: ['the rules'],
});

test('a sure high-risk opinion raises a Write, says why, and marks the tool for review', () => {
  const raised = withSecondOpinion(modelFeatures({ name: 'rollout_service' }), verdict('Write'), tiny(8));
  assert.equal(raised.category, 'Execute');
  assert.equal(raised.risk, 'High');
  assert.ok(raised.confidence < 0.5, 'the rules and the model disagree: review by hand');
  assert.match(raised.reasons[0]!, /^raised from Write: a model trained on 10 labelled tools reads it as Execute \(p 1\.00, from "rollout"\)/);
  assert.equal(raised.reasons[1], 'the rules');
  // A Read raised to Financial is a read of money records: Medium, as the rules rate those.
  assert.equal(withSecondOpinion(modelFeatures({ name: 'payout_list' }), verdict('Read', 'Low'), tiny(8)).risk, 'Medium');
  assert.equal(withSecondOpinion(modelFeatures({ name: 'wipe_cache' }), verdict('Other', 'Medium'), tiny(8)).category, 'Destructive');
});

test('an unsure or low-risk opinion changes nothing', () => {
  // Sure enough only above RAISE_AT: a weight of 1 on one word of five classes is about 0.4.
  const unsure = withSecondOpinion(modelFeatures({ name: 'rollout_service' }), verdict('Write'), tiny(1));
  assert.ok(Math.exp(1) / (Math.exp(1) + 4) < RAISE_AT);
  assert.deepEqual(unsure, verdict('Write'));
  // The model may say Read or Write; only a high-risk opinion raises, so it never lowers.
  assert.deepEqual(withSecondOpinion(modelFeatures({ name: 'note' }), verdict('Read', 'Low'), tiny(8)), verdict('Read', 'Low'));
  // Without a model (a damaged install) the rules stand alone.
  assert.deepEqual(withSecondOpinion(modelFeatures({ name: 'rollout' }), verdict('Write'), undefined), verdict('Write'));
});

test("a caller's read-only query stays a Read, and a read of money needs a surer model", () => {
  // The rules settle whether a read-only query runs: the model does not raise it to Execute ...
  const query: ClassificationDetail = { ...verdict('Read'), query: true };
  assert.deepEqual(withSecondOpinion(modelFeatures({ name: 'rollout' }), query, tiny(8)), query);
  // ... though it may still raise it to Destructive, and a plain Read to Execute.
  assert.equal(withSecondOpinion(modelFeatures({ name: 'wipe' }), query, tiny(8)).category, 'Destructive');
  assert.equal(withSecondOpinion(modelFeatures({ name: 'rollout' }), verdict('Read'), tiny(8)).category, 'Execute');
  // A Read becomes Financial only at RAISE_READ_TO_MONEY_AT; a Write at RAISE_AT.
  // One word weighing ln 12 against four classes at 0: p = 12 / 16 = 0.75, between the two.
  const w = Math.log(12);
  assert.ok(0.75 >= RAISE_AT && 0.75 < RAISE_READ_TO_MONEY_AT);
  assert.equal(withSecondOpinion(modelFeatures({ name: 'payout' }), verdict('Read'), tiny(w)).category, 'Read');
  assert.equal(withSecondOpinion(modelFeatures({ name: 'payout' }), verdict('Write'), tiny(w)).category, 'Financial');
  assert.equal(raises(verdict('Read'), { category: 'Financial', probability: RAISE_READ_TO_MONEY_AT }), true);
});

test('a hostile description cannot lower a verdict through the model', () => {
  // However sure the model is that a tool reads, a high-risk verdict of the rules stands.
  for (const category of ['Execute', 'Destructive', 'Financial'] as const) {
    const rules = verdict(category, 'High');
    assert.deepEqual(withSecondOpinion(modelFeatures({ name: 'fetch' }), rules, tiny(20)), rules);
  }
  // And through the whole classifier with the shipped model: a delete that piles up reading words.
  const [c] = classifyTools([{ name: 'delete_repository', description: 'Get list read fetch view show search the repository. Read-only, safe.' }]);
  assert.equal(c!.category, 'Destructive');
});

test("a listing's shared words are left out of every tool's features", () => {
  const tools = ['create_call', 'fetch_call', 'list_calls', 'update_queue', 'delete_queue'].map((name) => ({
    name,
    description: `Does ${name.split('_')[0]} (Uses default AccountSid)`,
  }));
  const features = listingFeatures(tools);
  for (const f of features) {
    assert.ok(!f.includes('d:default') && !f.includes('db:account_sid'), 'the suffix every tool repeats says nothing of one tool');
    assert.ok(f.includes(BIAS));
  }
  assert.ok(features[0]!.includes('v:create') && features[4]!.includes('v:delete'));
  // A listing too small to tell keeps everything.
  assert.ok(listingFeatures(tools.slice(0, 3))[0]!.includes('db:account_sid'));
});

test('the shipped model raises creates of things that run, which the rules alone call Write', () => {
  const model = riskModel();
  assert.ok(model, 'models/risk-model.json ships with the classifier');
  assert.ok(model.trainedOn.tools > 5000);
  // Kinds the labelled sets hold many of, so the model is far past RAISE_AT on them (p > 0.9) and a
  // retraining that flips one has changed something worth a look.
  const tools = [
    { name: 'add_job', description: 'Add a job to the queue' },
    { name: 'create_statement', description: 'Create a Flink SQL statement' },
    { name: 'create_note', description: 'Create a note' },
    { name: 'list_files', description: 'List files in a folder' },
  ];
  const said = classifyTools(tools);
  assert.deepEqual(
    tools.map((t) => classifyTool(t).category),
    ['Write', 'Write', 'Write', 'Read'],
    'the rules alone',
  );
  assert.deepEqual(
    said.map((c) => c.category),
    ['Execute', 'Execute', 'Write', 'Read'],
  );
  assert.match(said[0]!.reasons[0]!, /^raised from Write: a model trained on \d+ labelled tools reads it as Execute \(p 0\.9\d, from "job"/);
  assert.deepEqual(
    classifyTools(tools, { rulesOnly: true }).map((c) => c.category),
    ['Write', 'Write', 'Write', 'Read'],
  );
});
