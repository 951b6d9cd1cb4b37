// Two withdrawals from one account, started together: two concurrent async chains touching one
// shared object. Both read the balance before either writes it, so one update is lost.

import { type Account, withdraw } from './account.ts';

const account: Account = { id: 'acct-1', balance: 100 };

await Promise.all([withdraw(account, 30), withdraw(account, 50)]);

console.log(`balance of ${account.id}: ${account.balance} (100 - 30 - 50 would be 20)`);
