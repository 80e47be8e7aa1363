// Sign in as a web or mobile app does: masto registers the app, a "browser" (plain fetch with
// its own cookie jar) signs in and authorizes on the instance's pages and follows the redirect
// to the app's redirect URI, and masto exchanges the code for a token.
//
// config: {"url": base URL, "username": ..., "password": ...}
// prints: {"token", "scope", "clientId", "appName", "verified", "state", "calls"}
import { createOAuthAPIClient, createRestAPIClient } from "masto";

import { assert, browserFetch, config, run } from "./lib.mjs";

const REDIRECT_URI = "org.watercooler.test:/oauth-callback";
const SCOPES = "read write follow push";

/** A browser that keeps cookies and never follows redirects by itself. */
class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  async request(path, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const response = await browserFetch(new URL(path, this.base), {
      ...init,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(15_000),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return response;
  }

  /** Submit a form of `page` (the hidden fields it carries plus `fields`). */
  async submit(page, action, fields) {
    const form = new URLSearchParams({ ...hiddenFields(page), ...fields });
    return this.request(action, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
  }
}

const unescape = (text) =>
  text
    .replaceAll("&quot;", '"')
    .replaceAll("&#x27;", "'")
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

function hiddenFields(page) {
  const fields = {};
  for (const match of page.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescape(match[1])] = unescape(match[2]);
  }
  return fields;
}

async function main() {
  const { url, username, password } = config();
  const rest = createRestAPIClient({ url, timeout: 15_000 });
  const app = await rest.v1.apps.create({
    clientName: "masto.js test",
    redirectUris: REDIRECT_URI,
    scopes: SCOPES,
    website: "https://example.com/masto-test",
  });
  assert(app.clientId && app.clientSecret, `app registration answered ${JSON.stringify(app)}`);

  const state = `state-${Date.now()}`;
  const query = new URLSearchParams({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: REDIRECT_URI,
    scope: SCOPES,
    state,
  });
  const browser = new Browser(url);
  const signInPage = await browser.request(`/oauth/authorize?${query}`);
  const signInHtml = await signInPage.text();
  assert(signInPage.status === 200 && signInHtml.includes('name="password"'), "a sign-in page");

  const signedIn = await browser.submit(signInHtml, "/oauth/sign_in", { username, password });
  assert(signedIn.status === 303, `sign-in answered ${signedIn.status}`);
  const consentPage = await browser.request(signedIn.headers.get("location"));
  const consentHtml = await consentPage.text();
  assert(consentPage.status === 200 && consentHtml.includes("Authorize"), "a consent page");

  const decided = await browser.submit(consentHtml, "/oauth/authorize", { decision: "authorize" });
  assert(decided.status === 302, `the consent form answered ${decided.status}`);
  const callback = new URL(decided.headers.get("location"));
  assert(
    `${callback.protocol}${callback.pathname}` === REDIRECT_URI,
    `redirected to ${callback.href}`,
  );
  const code = callback.searchParams.get("code");
  assert(code, `no code in ${callback.href}`);

  const oauth = createOAuthAPIClient({ url, timeout: 15_000 });
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT_URI,
    code,
    scope: SCOPES,
  });
  const signedInClient = createRestAPIClient({ url, accessToken: token.accessToken, timeout: 15_000 });
  const verified = await signedInClient.v1.apps.verifyCredentials();
  return {
    token: token.accessToken,
    tokenType: token.tokenType,
    scope: token.scope,
    clientId: app.clientId,
    appName: verified.name,
    state: callback.searchParams.get("state"),
    sentState: state,
  };
}

run(main);
