// The wallet's screens. Every value shown comes from a Tauri command; no key or secret is ever
// sent here (the recovery phrase, once, during onboarding, is the exception the holder needs).
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import "./style.css";
import {
  type Consent,
  type Disclosure,
  type Summary,
  consentView,
  describeError,
  formatDate,
  shortId,
  typeName,
} from "./format";

interface Settings {
  ledger: string;
  genesis: string | null;
  fingerprint: string | null;
  autoLockMinutes: number;
  provingKey: string | null;
}
interface Status {
  exists: boolean;
  unlocked: boolean;
  did: string | null;
  phraseUnconfirmed: boolean;
  settings: Settings;
  dataDir: string;
}
interface LedgerInfo {
  node: string;
  chainId: string;
  epoch: number;
  validators: [string, string][];
  fingerprint: string;
  height: number;
}
interface Detail {
  summary: Summary;
  attributes: [string, string][];
  issuer: { name: string; status: string; allowedTypes: string[] } | null;
  revoked: boolean | null;
  checkedAt: number | null;
  ledgerError: string | null;
}

const main = document.querySelector<HTMLElement>("#main")!;
const nav = document.querySelector<HTMLElement>("#nav")!;
const notice = document.querySelector<HTMLElement>("#notice")!;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function say(text: string, kind: "info" | "error" = "info") {
  notice.textContent = text;
  notice.className = kind;
}

function show(html: string, heading: string) {
  main.innerHTML = `<h2>${esc(heading)}</h2>${html}`;
  main.focus();
}

async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T | undefined> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    say(describeError(e), "error");
    if (typeof e === "object" && e && (e as { code?: string }).code === "locked") void start();
    return undefined;
  }
}

function field(id: string, label: string, type = "text", extra = ""): string {
  return `<label for="${id}">${esc(label)}</label><input id="${id}" name="${id}" type="${type}" ${extra} />`;
}

function val(id: string): string {
  return (document.getElementById(id) as HTMLInputElement | HTMLTextAreaElement).value;
}

function onSubmit(id: string, handler: () => Promise<void>) {
  const form = document.getElementById(id) as HTMLFormElement;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement | null;
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    // Commands run off the window's thread; the bar shows the work goes on (proving takes a moment).
    const bar = document.createElement("progress");
    bar.setAttribute("aria-label", "Working");
    form.append(bar);
    try {
      await handler();
    } finally {
      bar.remove();
      form.removeAttribute("aria-busy");
      if (button) button.disabled = false;
    }
  });
}

// A chosen file's text goes into the text area beside it (the holder can still read it there).
function fillFromFile(inputId: string, textId: string) {
  const file = document.getElementById(inputId) as HTMLInputElement;
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) (document.getElementById(textId) as HTMLTextAreaElement).value = await f.text();
  });
}

async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
    say("Copied.");
  } catch {
    say("Copying is not allowed here: select the text and copy it yourself.", "error");
  }
}

// ---- onboarding -------------------------------------------------------------------------------

function onboarding() {
  nav.hidden = true;
  show(
    `<p>Create a new wallet, or restore one from its recovery phrase and backup file.</p>
     <form id="create"><fieldset><legend>Create a wallet</legend>
       ${field("new-password", "Password (at least 8 characters)", "password", 'autocomplete="new-password" required minlength="8"')}
       <button type="submit">Create wallet</button></fieldset></form>
     <form id="restore"><fieldset><legend>Restore a wallet</legend>
       <label for="restore-phrase">Recovery phrase (24 words)</label>
       <textarea id="restore-phrase" rows="3" required></textarea>
       ${field("restore-file", "Backup file (full path)", "text", "required")}
       ${field("restore-password", "New password", "password", 'autocomplete="new-password" required minlength="8"')}
       <button type="submit">Restore wallet</button></fieldset></form>`,
    "Welcome",
  );
  onSubmit("create", async () => {
    const words = await call<string[]>("create_wallet", { password: val("new-password") });
    if (words) showPhrase(words);
  });
  onSubmit("restore", async () => {
    const ok = await call<null>("restore_wallet", {
      phrase: val("restore-phrase"),
      backup: val("restore-file"),
      password: val("restore-password"),
    });
    if (ok !== undefined) {
      say("Wallet restored.");
      await credentials();
    }
  });
}

function showPhrase(words: string[]) {
  show(
    `<p>Write these 24 words down, in order, and keep them offline. With the backup file they
        restore the wallet on another computer. They are shown only now.</p>
     <ol class="phrase" id="phrase">${words.map((w) => `<li>${esc(w)}</li>`).join("")}</ol>
     <form id="confirm">
       <label for="confirm-words">Type the 24 words again to confirm</label>
       <textarea id="confirm-words" rows="3" required></textarea>
       <button type="submit">Confirm</button></form>`,
    "Your recovery phrase",
  );
  onSubmit("confirm", async () => {
    const ok = await call<null>("confirm_phrase", { words: val("confirm-words") });
    if (ok !== undefined) {
      say("Recovery phrase confirmed.");
      await credentials();
    }
  });
}

function unlockScreen() {
  nav.hidden = true;
  show(
    `<form id="unlock">${field("password", "Password", "password", 'autocomplete="current-password" required')}
       <button type="submit">Unlock</button></form>`,
    "Unlock your wallet",
  );
  onSubmit("unlock", async () => {
    const did = await call<string>("unlock", { password: val("password") });
    if (did) {
      say("Unlocked.");
      if (!(await openIncomingLink())) await credentials();
    }
  });
}

// ---- credentials -------------------------------------------------------------------------------

async function credentials() {
  nav.hidden = false;
  const list = await call<Summary[]>("list_credentials");
  if (!list) return;
  const cards = list
    .map(
      (c) => `<li class="card"><button type="button" class="card-open" data-id="${esc(c.id)}"
          aria-label="${esc(typeName(c.credentialType))} from ${esc(c.issuerName)}">
        <strong>${esc(typeName(c.credentialType))}</strong>
        <span>${esc(c.issuerName)}</span>
        <span class="muted">valid from ${formatDate(c.validFrom)} · ${c.unlinkable ? "unlinkable tier" : "selective disclosure"}</span>
        <span class="muted" title="${esc(c.id)}">${shortId(c.id)}</span></button></li>`,
    )
    .join("");
  show(
    list.length ? `<ul class="cards" id="cards">${cards}</ul>` : `<p>No credentials yet. Use <em>Import</em> to add one.</p>`,
    "Your credentials",
  );
  main.querySelectorAll<HTMLButtonElement>(".card-open").forEach((b) =>
    b.addEventListener("click", () => detail(b.dataset.id!)),
  );
}

async function detail(id: string) {
  show(`<p aria-busy="true">Checking with the ledger…</p>`, "Credential");
  const d = await call<Detail>("credential_detail", { id });
  if (!d) return;
  const s = d.summary;
  const status =
    d.revoked === null
      ? `not checked: ${esc(d.ledgerError ?? "ledger unavailable")}`
      : d.revoked
        ? `<strong class="bad">revoked by the issuer</strong> (block ${d.checkedAt})`
        : `not revoked (checked live at block ${d.checkedAt})`;
  show(
    `<dl>
       <dt>Issuer</dt><dd>${esc(d.issuer ? `${d.issuer.name} — ${d.issuer.status}, may issue ${d.issuer.allowedTypes.join(", ")}` : s.issuerName)}</dd>
       <dt>Issuer DID</dt><dd class="mono">${esc(s.issuer)}</dd>
       <dt>Anchored</dt><dd>block ${s.anchoredAt}</dd>
       <dt>Revocation</dt><dd id="revocation">${status}</dd>
       <dt>Valid</dt><dd>${formatDate(s.validFrom)} to ${formatDate(s.validUntil)}</dd>
     </dl>
     <h3>Attributes</h3>
     <table><thead><tr><th scope="col">Attribute</th><th scope="col">Value</th></tr></thead><tbody>
       ${d.attributes.map(([n, v]) => `<tr><th scope="row">${esc(n)}</th><td>${esc(v)}</td></tr>`).join("")}
     </tbody></table>
     <button type="button" id="back">Back to credentials</button>`,
    typeName(s.credentialType),
  );
  document.getElementById("back")!.addEventListener("click", () => credentials());
}

// ---- import -----------------------------------------------------------------------------------

async function importScreen(offerLink = "") {
  const binding = await call<{ holderKey: string; holderCommitment?: string }>("holder_binding");
  if (!binding) return;
  show(
    `<form id="offer"><fieldset><legend>An issuer's offer</legend>
       <label for="offer-link">Offer link (openid-credential-offer://…)</label>
       <input id="offer-link" type="text" spellcheck="false" autocomplete="off" value="${esc(offerLink)}" />
       <label for="tx-code">Transaction code (sent to you separately)</label>
       <input id="tx-code" type="text" inputmode="numeric" autocomplete="one-time-code" />
       <button type="submit">Accept the offer</button></fieldset></form>
     <section aria-labelledby="h-receive"><h3 id="h-receive">Receive a credential</h3>
       <p>Give the issuer this holder binding: credentials issued to it can be presented only
          from this wallet. It contains public values only.</p>
       <label for="holder-binding">Your holder binding</label>
       <textarea id="holder-binding" rows="4" readonly>${esc(JSON.stringify(binding, null, 2))}</textarea>
       <button type="button" id="copy-binding">Copy</button></section>
     <form id="import">
       <label for="import-file">Credential file</label>
       <input id="import-file" type="file" accept=".json,application/json" />
       <label for="import-text">…or paste the credential (offer) here</label>
       <textarea id="import-text" rows="8"></textarea>
       <button type="submit">Import</button></form>`,
    "Import a credential",
  );
  document.getElementById("copy-binding")!.addEventListener("click", () => copy(JSON.stringify(binding, null, 2)));
  fillFromFile("import-file", "import-text");
  onSubmit("offer", async () => {
    say("Redeeming the offer and checking the credential against the ledger…");
    const s = await call<Summary>("accept_offer", { link: val("offer-link").trim(), txCode: val("tx-code").trim() || null });
    if (s) {
      say(`Imported ${typeName(s.credentialType)} from ${s.issuerName}.`);
      await credentials();
    }
  });
  onSubmit("import", async () => {
    say("Checking the credential against the ledger…");
    const s = await call<Summary>("import_credential", { text: val("import-text") });
    if (s) {
      say(`Imported ${typeName(s.credentialType)} from ${s.issuerName}.`);
      await credentials();
    }
  });
}

// ---- answer a request (consent) --------------------------------------------------------------

function answerScreen(link = "") {
  show(
    `<form id="request">
       <label for="request-link">Link from the verifier (openid4vp://…)</label>
       <input id="request-link" type="text" spellcheck="false" autocomplete="off" value="${esc(link)}" />
       <p class="muted">The wallet fetches the verifier's signed request, shows you what it asks, and sends your answer to the verifier itself.</p>
       <label for="request-file">…or a request file</label>
       <input id="request-file" type="file" accept=".json,application/json" />
       <label for="request-text">…or paste the verifier's request</label>
       <textarea id="request-text" rows="8"></textarea>
       <button type="submit">Review request</button></form>`,
    "Answer a request",
  );
  fillFromFile("request-file", "request-text");
  onSubmit("request", async () => {
    const mine = ++reviewing;
    const byLink = val("request-link").trim();
    const c = await call<Consent & { ticket: number }>("prepare_request", { text: byLink || val("request-text") });
    // The holder moved on while the verifier answered: this review is not theirs any more.
    if (mine !== reviewing || !document.getElementById("request")) return;
    if (c) consent(c, byLink !== "");
    else if (byLink) offerDecline();
  });
}

/** Reviews started; a result for an earlier one is dropped. */
let reviewing = 0;

/** After a link's request could not be answered (no credential fits, …): the holder may still
 *  tell the verifier they decline, in the same words as any refusal. */
function offerDecline() {
  if (document.getElementById("decline-link")) return;
  const b = document.createElement("button");
  b.type = "button";
  b.id = "decline-link";
  b.textContent = "Tell the verifier you decline";
  b.addEventListener("click", async () => {
    const told = await call<string | null>("decline", { ticket: null });
    say(told ?? "Nothing was sent.");
    b.remove();
  });
  document.getElementById("request")!.append(b);
}

/** Opens the link the system opened the wallet with, if any (once the wallet is unlocked). */
async function openIncomingLink(): Promise<boolean> {
  const link = await invoke<string | null>("take_link").catch(() => null);
  if (!link) return false;
  nav.hidden = false;
  if (/^openid-credential-offer:/i.test(link)) {
    await importScreen(link);
    say("An issuer's offer was opened with the wallet: type the transaction code it sent you, then accept.");
    return true;
  }
  answerScreen(link);
  // Nothing is fetched until the holder asks: a web page could open links to any address.
  let host = "";
  try {
    host = new URL(new URLSearchParams(link.split("?")[1] ?? "").get("request_uri") ?? "").host;
  } catch {
    host = "";
  }
  say(`A verifier's link was opened with the wallet${host ? ` (its request is at ${host})` : ""}. Press Review request to fetch it.`);
  return true;
}

function consent(c: Consent & { ticket: number }, byLink = false) {
  const v = consentView(c);
  const list = (items: string[], empty: string) =>
    items.length ? `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>` : `<p class="muted">${empty}</p>`;
  show(
    `<p><strong>${esc(v.title)}</strong></p>
     <dl><dt>Verifier</dt><dd>${esc(c.verifierName ?? "not registered")} <span class="mono">${esc(c.verifier)}</span></dd>
         <dt>Purpose</dt><dd>${esc(c.purpose)}</dd>
         <dt>Answer valid until</dt><dd>${new Date(c.expiresAt * 1000).toISOString().replace("T", " ").slice(0, 16)} UTC</dd></dl>
     <p id="scope" class="${v.scope.ok ? "ok" : "bad"}">${esc(v.scope.text)}</p>
     <p id="session">${v.session.value ? `<strong>Session <span class="mono">${esc(v.session.value)}</span></strong>. ` : ""}${esc(v.session.text)}</p>
     ${v.pseudonym ? `<p id="pseudonym">${esc(v.pseudonym)}</p>` : ""}
     ${v.escrow ? `<p id="escrow" class="warning">${esc(v.escrow)}</p>` : ""}
     ${v.warnings.map((w) => `<p class="bad" role="alert">${esc(w)}</p>`).join("")}
     <section aria-labelledby="h-disclosed"><h3 id="h-disclosed">Will be shown</h3>${list(v.disclosed, "Nothing.")}</section>
     <section aria-labelledby="h-proven"><h3 id="h-proven">Will be proven, without showing the values</h3>${list(v.proven, "Nothing.")}</section>
     <section aria-labelledby="h-hidden"><h3 id="h-hidden">Stays hidden</h3>${list(v.hidden, "Nothing.")}</section>
     <form id="consent">
       ${byLink && c.channel ? `<p id="origin">The answer goes to <span class="mono">${esc(c.channel.responseUri)}</span>, the address the verifier signed.</p>` : ""}
       ${field("save-to", "Save a copy of the presentation to (full path, optional)")}
       <button type="submit" id="approve" ${v.canApprove ? "" : "disabled"}>Approve and send</button>
       <button type="button" id="decline">Decline</button>
     </form>`,
    "Review the request",
  );
  document.getElementById("decline")!.addEventListener("click", async () => {
    const told = await call<string | null>("decline", { ticket: c.ticket });
    say(`Declined. No presentation was made.${told ? ` ${told}` : ""}`);
    await credentials();
  });
  onSubmit("consent", async () => {
    say(c.tier === "unlinkable" ? "Proving in zero knowledge… this takes a moment." : "Building the presentation…");
    const a = await call<{ presentation: string; savedTo: string | null; sent: { accepted: boolean; line: string } | null }>(
      "approve",
      { saveTo: val("save-to") || null, ticket: c.ticket },
    );
    if (!a) return;
    if (a.sent) {
      say(a.sent.accepted ? "Sent: the verifier accepted your answer." : "The verifier did not accept the answer.", a.sent.accepted ? "info" : "error");
      show(
        `<p id="sent" data-accepted="${a.sent.accepted}" class="${a.sent.accepted ? "ok" : "bad"}">${esc(a.sent.line)}</p>
         ${a.savedTo ? `<p>A copy is saved to <span class="mono">${esc(a.savedTo)}</span>.</p>` : ""}
         <details><summary>What was sent</summary><textarea id="presentation" rows="12" readonly>${esc(a.presentation)}</textarea></details>`,
        a.sent.accepted ? "Answer sent" : "Answer not accepted",
      );
      return;
    }
    say(a.savedTo ? `Presentation saved to ${a.savedTo}.` : "Presentation ready.");
    show(
      `<p>${a.savedTo ? `Saved to <span class="mono">${esc(a.savedTo)}</span>.` : ""} Send it to the verifier, or copy it:</p>
       <label for="presentation">Presentation</label>
       <textarea id="presentation" rows="12" readonly>${esc(a.presentation)}</textarea>
       <button type="button" id="copy">Copy</button>`,
      "Presentation ready",
    );
    document.getElementById("copy")!.addEventListener("click", () => copy(a.presentation));
  });
}

// ---- history and settings ----------------------------------------------------------------------

async function historyScreen() {
  const h = await call<Disclosure[]>("history");
  if (!h) return;
  const rows = h
    .map(
      (d) => `<tr><td>${new Date(d.at * 1000).toISOString().replace("T", " ").slice(0, 16)}</td>
        <td>${esc(d.verifierName ?? d.verifier)}</td><td>${esc(d.purpose)}</td>
        <td>${esc(d.disclosed.map(([n, v]) => `${n}: ${v}`).join(", ") || "nothing")}</td>
        <td>${esc(d.proven.join(", ") || "nothing")}</td></tr>`,
    )
    .join("");
  show(
    h.length
      ? `<table id="history"><thead><tr><th scope="col">When (UTC)</th><th scope="col">To whom</th><th scope="col">Purpose</th>
         <th scope="col">Revealed</th><th scope="col">Proven</th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p>Nothing disclosed yet.</p>`,
    "Disclosure history",
  );
}

async function settingsScreen() {
  const s = await call<Status>("status");
  if (!s) return;
  show(
    `<form id="settings">
       ${field("ledger", "Ledger nodes (addresses separated by commas; the first that answers is used)", "text", `value="${esc(s.settings.ledger)}" required`)}
       ${field("genesis", "Genesis file your consortium published (full path; pinned on first use)", "text", `value="${esc(s.settings.genesis ?? "")}"`)}
       ${field("fingerprint", "Or the genesis fingerprint it published (64 hex digits)", "text", `value="${esc(s.settings.fingerprint ?? "")}"`)}
       ${field("auto-lock", "Lock after idle minutes (0: never)", "number", `min="0" max="1440" value="${s.settings.autoLockMinutes}"`)}
       ${field("proving-key", "Unlinkable-tier proving key file (optional)", "text", `value="${esc(s.settings.provingKey ?? "")}"`)}
       <button type="submit">Save settings</button></form>
     <section aria-labelledby="h-trust"><h3 id="h-trust">Validator set</h3>
       <div id="trust" aria-live="polite"><p class="muted">Asking the ledger…</p></div></section>
     <form id="backup">${field("backup-path", "Write an encrypted backup to (full path)", "text", "required")}
       <button type="submit">Back up</button></form>
     <form id="password">${field("old-password", "Current password", "password", "required")}
       ${field("new-password2", "New password", "password", 'required minlength="8"')}
       <button type="submit">Change password</button></form>
     <p class="muted">Wallet folder: <span class="mono">${esc(s.dataDir)}</span></p>`,
    "Settings",
  );
  onSubmit("settings", async () => {
    const saved = await call<Settings>("save_settings", {
      settings: {
        ledger: val("ledger"),
        genesis: val("genesis") || null,
        fingerprint: val("fingerprint") || null,
        autoLockMinutes: Number(val("auto-lock")),
        provingKey: val("proving-key") || null,
      },
    });
    if (saved) {
      say("Settings saved.");
      await showTrust();
    }
  });
  void showTrust();
  onSubmit("backup", async () => {
    const p = await call<string>("backup", { path: val("backup-path") });
    if (p) say(`Backup written to ${p}. Keep it with your recovery phrase.`);
  });
  onSubmit("password", async () => {
    const ok = await call<null>("change_password", { old: val("old-password"), new: val("new-password2") });
    if (ok !== undefined) say("Password changed.");
  });
}

/** The validator set every ledger proof is checked against, as the settings screen shows it. */
async function showTrust() {
  const box = document.getElementById("trust");
  if (!box) return;
  let info: LedgerInfo;
  try {
    info = await invoke<LedgerInfo>("ledger_info");
  } catch (e) {
    box.innerHTML = `<p class="bad">${esc(describeError(e))}</p>`;
    return;
  }
  box.innerHTML = `<p>Chain <strong>${esc(info.chainId)}</strong> through ${esc(info.node)} (at block ${info.height}): epoch ${info.epoch},
       ${info.validators.length} validators. The genesis matches the pinned one
       (fingerprint <span class="mono" title="${esc(info.fingerprint)}">${shortId(info.fingerprint)}</span>).</p>
     <table><thead><tr><th scope="col">#</th><th scope="col">SM2 key</th><th scope="col">Address</th></tr></thead><tbody>
       ${info.validators.map(([k, a], i) => `<tr><td>${i}</td><td class="mono" title="${esc(k)}">${shortId(k)}</td><td class="mono">${esc(a)}</td></tr>`).join("")}
     </tbody></table>`;
}

// ---- routing ---------------------------------------------------------------------------------

const routes: Record<string, () => unknown> = {
  credentials,
  import: importScreen,
  answer: answerScreen,
  history: historyScreen,
  settings: settingsScreen,
};

nav.querySelectorAll<HTMLButtonElement>("button[data-route]").forEach((b) =>
  b.addEventListener("click", () => {
    say("");
    void routes[b.dataset.route!]();
  }),
);
document.getElementById("lock")!.addEventListener("click", async () => {
  await call("lock");
  say("Locked.");
  unlockScreen();
});

async function start() {
  const s = await call<Status>("status");
  if (!s) return;
  if (!s.exists) onboarding();
  else if (!s.unlocked) unlockScreen();
  else if (!(await openIncomingLink())) await credentials();
}

// A link the system opens while the wallet runs: opened now if unlocked, else after unlocking.
void listen("credence://link", async () => {
  const s = await invoke<Status>("status").catch(() => undefined);
  if (s && s.unlocked) await openIncomingLink();
  else say("A verifier's link was opened with the wallet: unlock it to review the request.");
});

// The wallet locks itself after idle time; asking for the status lets it notice.
setInterval(async () => {
  const s = await invoke<Status>("status").catch(() => undefined);
  if (s && s.exists && !s.unlocked && !nav.hidden) {
    say("The wallet locked itself after being idle.");
    unlockScreen();
  }
}, 30_000);

void start();
