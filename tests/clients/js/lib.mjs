// Shared by the scripts that tests/clients/test_masto_js.py runs: argument parsing, a record
// of every HTTP request masto makes, bounded polling, and the one JSON line of output.

/** The HTTP requests masto made, as "METHOD /path" (query left out), in order. */
export const calls = [];

const realFetch = globalThis.fetch;

/** masto calls the global fetch for every request: wrap it to record what it asked for.
 * Requests the scripts make themselves (the browser's part of OAuth) use `browserFetch`. */
globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  calls.push(`${request.method} ${new URL(request.url).pathname}`);
  return realFetch(input, init);
};

export const browserFetch = realFetch;

/** The single argument: a JSON object with base URLs, tokens and what else the script needs. */
export function config() {
  const raw = process.argv[2];
  if (!raw) {
    throw new Error(`usage: node ${process.argv[1]} '<json config>'`);
  }
  return JSON.parse(raw);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Call `probe` until it returns something truthy; fail after `timeoutMs`. */
export async function waitFor(what, probe, timeoutMs = 30_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) {
      return value;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function assert(condition, message) {
  if (!condition) {
    throw new Error(`assertion failed: ${message}`);
  }
}

/** Run `main`, print its result as one JSON line, exit 1 (with the error on stderr) on failure.
 * A hard deadline keeps a hung connection from outliving the test's own timeout. */
export function run(main, deadlineMs = 90_000) {
  const timer = setTimeout(() => {
    console.error(`deadline of ${deadlineMs} ms passed`);
    process.exit(2);
  }, deadlineMs);
  main()
    .then((result) => {
      clearTimeout(timer);
      process.stdout.write(`${JSON.stringify({ ...result, calls })}\n`);
      process.exit(0);
    })
    .catch((error) => {
      clearTimeout(timer);
      const detail = error?.statusCode ? ` (HTTP ${error.statusCode} ${error.description ?? ""})` : "";
      console.error(`${error?.stack ?? error}${detail}`);
      console.error(`calls so far: ${JSON.stringify(calls)}`);
      process.exit(1);
    });
}
