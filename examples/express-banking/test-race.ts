// Fires concurrent transfers at a running bank and shows what happened to the money:
// `node test-race.ts [--url http://127.0.0.1:3000] [--transfers 10] [--amount 10]`.

import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    transfers: { type: 'string', default: '10' },
    amount: { type: 'string', default: '10' },
  },
});
const base = values.url.replace(/\/$/, '');
const transfers = Number(values.transfers);
const amount = Number(values.amount);

interface Accounts {
  accounts: { id: string; balance: number }[];
  total: number;
}

async function accounts(): Promise<Accounts> {
  const response = await fetch(`${base}/accounts`);
  if (!response.ok) throw new Error(`GET /accounts answered ${response.status}`);
  return (await response.json()) as Accounts;
}

function show({ accounts: list, total }: Accounts): string {
  return `${list.map((a) => `${a.id} ${a.balance}`).join(', ')} (total ${total})`;
}

const before = await accounts();
console.log(`before: ${show(before)}`);
// Alice and Bob both pay Carol, all at once: every transfer touches Carol's balance.
const payers = ['alice', 'bob'];
const results = await Promise.all(
  Array.from({ length: transfers }, (_, i) =>
    fetch(`${base}/transfers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: payers[i % payers.length], to: 'carol', amount }),
    }).then((response) => response.status),
  ),
);
const accepted = results.filter((status) => status === 200).length;
const after = await accounts();
console.log(`sent ${transfers} transfers of ${amount} to carol; ${accepted} accepted`);
console.log(`after:  ${show(after)}`);
const carolBefore = before.accounts.find((a) => a.id === 'carol')?.balance ?? 0;
const carolAfter = after.accounts.find((a) => a.id === 'carol')?.balance ?? 0;
const missing = before.total - after.total;
if (missing === 0 && carolAfter - carolBefore === accepted * amount) {
  console.log('every transfer arrived: no money went missing');
} else {
  console.log(
    `carol should have received ${accepted * amount} but received ${carolAfter - carolBefore}: ${missing} went missing`,
  );
  console.log(
    'stop the bank (Ctrl-C): Causeway prints the trace id; then run causeway analyze --trace-id <id>',
  );
}
