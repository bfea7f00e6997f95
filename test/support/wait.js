'use strict';
// Waiting in unit tests: never a fixed sleep before a positive assertion (the machine may be busy).

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `fn()` is true; fails after `timeoutMs`. */
async function until(fn, timeoutMs = 10000, stepMs = 5) {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}

module.exports = { sleep, until };
