// The wallet's screens. Every value shown comes from a Tauri command; no key or secret is ever
// sent here (the recovery phrase, once, during onboarding, is the exception the holder needs).
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import "./style.css";
import {
  type AttributeNote,
  aboutOf,
  statementText,
  type Consent,
  type Disclosure,
  type Summary,
  consentView,
  describeError,
  formatDate,
  labelOf,
  shortId,
  typeName,
} from "./format";
import { type Lang, lang, setLang, t } from "./i18n";

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
  notes: AttributeNote[];
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

// What a path field is for: the system dialog its "Choose…" button opens (src-tauri `FileKind`).
type FileKind = "backupOpen" | "backupSave" | "presentationSave" | "genesis" | "provingKey";

// A path the holder may type, or pick in the system's open or save dialog.
function pathField(id: string, label: string, kind: FileKind, extra = ""): string {
  return `<label for="${id}">${esc(label)}</label><div class="path"><input id="${id}" name="${id}" type="text" ${extra} /><button type="button" class="choose" id="${id}-choose" data-for="${id}" data-kind="${kind}" aria-label="${esc(t("Choose the file: {what}", { what: label }))}">${esc(t("Choose…"))}</button></div>`;
}

/** A file dialog is open (one at a time: on Linux it is not modal to the window). */
let choosing = false;

// One listener for every "Choose…" button: the chosen path goes into its field.
main.addEventListener("click", async (ev) => {
  const button = (ev.target as HTMLElement).closest<HTMLButtonElement>("button.choose");
  if (!button || choosing) return;
  choosing = true;
  const input = document.getElementById(button.dataset.for ?? "") as HTMLInputElement | null;
  const label = input ? document.querySelector(`label[for="${input.id}"]`)?.textContent ?? "" : "";
  // One dialog at a time (on Linux it is not modal to the window).
  const all = [...document.querySelectorAll<HTMLButtonElement>("button.choose")];
  for (const b of all) b.disabled = true;
  try {
    const path = await call<string | null>("choose_file", { kind: button.dataset.kind, title: label });
    if (input && path) input.value = path;
  } finally {
    for (const b of all) b.disabled = false;
    choosing = false;
  }
});

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
    bar.setAttribute("aria-label", t("Working"));
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
    say(t("Copied."));
  } catch {
    say(t("Copying is not allowed here: select the text and copy it yourself."), "error");
  }
}

// ---- onboarding -------------------------------------------------------------------------------

function onboarding() {
  nav.hidden = true;
  show(
    `<p>${t("Create a new wallet, or restore one from its recovery phrase and backup file.")}</p>
     <form id="create"><fieldset><legend>${t("Create a wallet")}</legend>
       ${field("new-password", t("Password (at least 8 characters)"), "password", 'autocomplete="new-password" required minlength="8"')}
       <button type="submit">${t("Create wallet")}</button></fieldset></form>
     <form id="restore"><fieldset><legend>${t("Restore a wallet")}</legend>
       <label for="restore-phrase">${t("Recovery phrase (24 words)")}</label>
       <textarea id="restore-phrase" rows="3" required></textarea>
       ${pathField("restore-file", t("Backup file (full path)"), "backupOpen", "required")}
       ${field("restore-password", t("New password"), "password", 'autocomplete="new-password" required minlength="8"')}
       <button type="submit">${t("Restore wallet")}</button></fieldset></form>`,
    t("Welcome"),
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
      say(t("Wallet restored."));
      await credentials();
    }
  });
}

function showPhrase(words: string[]) {
  show(
    `<p>${t("Write these 24 words down, in order, and keep them offline. With the backup file they restore the wallet on another computer. They are shown only now.")}</p>
     <ol class="phrase" id="phrase">${words.map((w) => `<li>${esc(w)}</li>`).join("")}</ol>
     <form id="confirm">
       <label for="confirm-words">${t("Type the 24 words again to confirm")}</label>
       <textarea id="confirm-words" rows="3" required></textarea>
       <button type="submit">${t("Confirm")}</button></form>`,
    t("Your recovery phrase"),
  );
  onSubmit("confirm", async () => {
    const ok = await call<null>("confirm_phrase", { words: val("confirm-words") });
    if (ok !== undefined) {
      say(t("Recovery phrase confirmed."));
      await credentials();
    }
  });
}

function unlockScreen() {
  nav.hidden = true;
  show(
    `<form id="unlock">${field("password", t("Password"), "password", 'autocomplete="current-password" required')}
       <button type="submit">${t("Unlock")}</button></form>`,
    t("Unlock your wallet"),
  );
  onSubmit("unlock", async () => {
    const did = await call<string>("unlock", { password: val("password") });
    if (did) {
      say(t("Unlocked."));
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
          aria-label="${esc(t("{type} from {issuer}", { type: typeName(c.credentialType), issuer: c.issuerName }))}">
        <strong>${esc(typeName(c.credentialType))}</strong>
        <span>${esc(c.issuerName)}</span>
        <span class="muted">${t("valid from {date}", { date: formatDate(c.validFrom) })} · ${c.unlinkable ? t("unlinkable tier") : t("selective disclosure")}</span>
        <span class="muted" title="${esc(c.id)}">${shortId(c.id)}</span></button></li>`,
    )
    .join("");
  show(
    list.length ? `<ul class="cards" id="cards">${cards}</ul>` : `<p>${t("No credentials yet. Use Import to add one.")}</p>`,
    t("Your credentials"),
  );
  main.querySelectorAll<HTMLButtonElement>(".card-open").forEach((b) =>
    b.addEventListener("click", () => detail(b.dataset.id!)),
  );
}

async function detail(id: string) {
  show(`<p aria-busy="true">${t("Checking with the ledger…")}</p>`, t("Credential"));
  const d = await call<Detail>("credential_detail", { id });
  if (!d) return;
  const s = d.summary;
  const status =
    d.revoked === null
      ? esc(t("not checked: {why}", { why: d.ledgerError ?? t("ledger unavailable") }))
      : d.revoked
        ? `<strong class="bad">${t("revoked by the issuer")}</strong> ${t("(block {height})", { height: d.checkedAt ?? "" })}`
        : t("not revoked (checked live at block {height})", { height: d.checkedAt ?? "" });
  show(
    `<dl>
       <dt>${t("Issuer")}</dt><dd>${esc(d.issuer ? t("{name} — {status}, may issue {types}", { name: d.issuer.name, status: issuerStatus(d.issuer.status), types: d.issuer.allowedTypes.map(typeName).join(t(", ")) }) : s.issuerName)}</dd>
       <dt>${t("Issuer DID")}</dt><dd class="mono">${esc(s.issuer)}</dd>
       <dt>${t("Anchored")}</dt><dd>${t("block {height}", { height: s.anchoredAt })}</dd>
       <dt>${t("Revocation")}</dt><dd id="revocation">${status}</dd>
       <dt>${t("Valid")}</dt><dd>${t("{from} to {until}", { from: formatDate(s.validFrom), until: formatDate(s.validUntil) })}</dd>
     </dl>
     <h3>${t("Attributes")}</h3>
     <table><thead><tr><th scope="col">${t("Attribute")}</th><th scope="col">${t("Value")}</th></tr></thead><tbody>
       ${d.attributes
         .map(([n, v]) => {
           const about = aboutOf(d.notes, n);
           return `<tr><th scope="row">${esc(labelOf(d.notes, n))}${about ? `<br><small class="muted">${esc(about)}</small>` : ""}</th><td>${esc(v)}</td></tr>`;
         })
         .join("")}
     </tbody></table>
     <button type="button" id="back">${t("Back to credentials")}</button>`,
    typeName(s.credentialType),
  );
  document.getElementById("back")!.addEventListener("click", () => credentials());
}

// ---- import -----------------------------------------------------------------------------------

async function importScreen(offerLink = "") {
  const binding = await call<{ holderKey: string; holderCommitment?: string }>("holder_binding");
  if (!binding) return;
  show(
    `<form id="offer"><fieldset><legend>${t("An issuer's offer")}</legend>
       <label for="offer-link">${t("Offer link (openid-credential-offer://…)")}</label>
       <input id="offer-link" type="text" spellcheck="false" autocomplete="off" value="${esc(offerLink)}" />
       <p id="offer-from" class="muted" aria-live="polite"></p>
       <label for="tx-code">${t("Transaction code (sent to you separately)")}</label>
       <input id="tx-code" type="text" inputmode="numeric" autocomplete="one-time-code" />
       <button type="submit">${t("Accept the offer")}</button></fieldset></form>
     <section aria-labelledby="h-receive"><h3 id="h-receive">${t("Receive a credential")}</h3>
       <p>${t("Give the issuer this holder binding: credentials issued to it can be presented only from this wallet. It contains public values only.")}</p>
       <label for="holder-binding">${t("Your holder binding")}</label>
       <textarea id="holder-binding" rows="4" readonly>${esc(JSON.stringify(binding, null, 2))}</textarea>
       <button type="button" id="copy-binding">${t("Copy")}</button></section>
     <form id="import">
       <label for="import-file">${t("Credential file")}</label>
       <input id="import-file" type="file" accept=".json,application/json" />
       <label for="import-text">${t("…or paste the credential (offer) here")}</label>
       <textarea id="import-text" rows="8"></textarea>
       <button type="submit">${t("Import")}</button></form>`,
    t("Import a credential"),
  );
  document.getElementById("copy-binding")!.addEventListener("click", () => copy(JSON.stringify(binding, null, 2)));
  fillFromFile("import-file", "import-text");
  // Who the code goes to, before it is sent: the offer's issuer, as the link names it.
  const from = () => {
    const host = offerHost(val("offer-link").trim());
    document.getElementById("offer-from")!.textContent = host
      ? t("Offered by {host}: the transaction code and a proof that you hold this wallet's key go there.", { host })
      : "";
  };
  document.getElementById("offer-link")!.addEventListener("input", from);
  from();
  onSubmit("offer", async () => {
    say(t("Redeeming the offer and checking the credential against the ledger…"));
    const s = await call<Summary>("accept_offer", { link: val("offer-link").trim(), txCode: val("tx-code").trim() || null });
    if (s) {
      say(t("Imported {type} from {issuer}.", { type: typeName(s.credentialType), issuer: s.issuerName }));
      await credentials();
    }
  });
  onSubmit("import", async () => {
    say(t("Checking the credential against the ledger…"));
    const s = await call<Summary>("import_credential", { text: val("import-text") });
    if (s) {
      say(t("Imported {type} from {issuer}.", { type: typeName(s.credentialType), issuer: s.issuerName }));
      await credentials();
    }
  });
}

/** The host of the issuer an offer link names (by value or by reference), or "". */
function offerHost(link: string): string {
  try {
    const q = new URLSearchParams(link.split("?")[1] ?? "");
    const byValue = q.get("credential_offer");
    const url = byValue ? (JSON.parse(byValue) as { credential_issuer?: string }).credential_issuer : q.get("credential_offer_uri");
    return url ? new URL(url).host : "";
  } catch {
    return "";
  }
}

// ---- answer a request (consent) --------------------------------------------------------------

function answerScreen(link = "") {
  show(
    `<form id="request">
       <label for="request-link">${t("Link from the verifier (openid4vp://…)")}</label>
       <input id="request-link" type="text" spellcheck="false" autocomplete="off" value="${esc(link)}" />
       <p class="muted">${t("The wallet fetches the verifier's signed request, shows you what it asks, and sends your answer to the verifier itself.")}</p>
       <label for="request-file">${t("…or a request file")}</label>
       <input id="request-file" type="file" accept=".json,application/json" />
       <label for="request-text">${t("…or paste the verifier's request")}</label>
       <textarea id="request-text" rows="8"></textarea>
       <button type="submit">${t("Review request")}</button></form>`,
    t("Answer a request"),
  );
  fillFromFile("request-file", "request-text");
  onSubmit("request", async () => {
    const mine = ++reviewing;
    const byLink = val("request-link").trim();
    const c = await call<Consent & { ticket: number; notes: AttributeNote[] }>("prepare_request", { text: byLink || val("request-text") });
    // The holder moved on while the verifier answered: this review is not theirs any more.
    if (mine !== reviewing || !document.getElementById("request")) return;
    if (c) consent(c, byLink !== "");
    else if (byLink) offerDecline();
  });
}

/** Reviews started; a result for an earlier one is dropped. */
let reviewing = 0;

/** An issuer's standing on the ledger, in words (an unknown one as the ledger says it). */
function issuerStatus(status: string): string {
  if (status === "active") return t("active");
  if (status === "suspended") return t("suspended");
  return status;
}

/** What the verifier said of an answer or a refusal the wallet sent it (its words are its own). */
interface Sent {
  accepted: boolean;
  line: string;
}

/** What the holder is told of a refusal sent to the verifier. */
function toldText(told: Sent): string {
  return told.accepted
    ? t("The verifier was told you declined.")
    : t("The verifier could not be told, or did not take the refusal ({line}); it receives nothing.", { line: told.line });
}

/** After a link's request could not be answered (no credential fits, …): the holder may still
 *  tell the verifier they decline, in the same words as any refusal. */
function offerDecline() {
  if (document.getElementById("decline-link")) return;
  const b = document.createElement("button");
  b.type = "button";
  b.id = "decline-link";
  b.textContent = t("Tell the verifier you decline");
  b.addEventListener("click", async () => {
    const told = await call<Sent | null>("decline", { ticket: null });
    if (told === undefined) return; // refused: the error is on screen
    say(told ? toldText(told) : t("Nothing was sent."));
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
    say(t("An issuer's offer was opened with the wallet: type the transaction code it sent you, then accept."));
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
  say(t("A verifier's link was opened with the wallet{where}. Press Review request to fetch it.", { where: host ? t(" (its request is at {host})", { host }) : "" }));
  return true;
}

function consent(c: Consent & { ticket: number; notes: AttributeNote[] }, byLink = false) {
  const v = consentView(c, c.notes);
  const list = (items: string[], empty: string) =>
    items.length ? `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join("")}</ul>` : `<p class="muted">${t(empty)}</p>`;
  show(
    `<p><strong>${esc(v.title)}</strong></p>
     <dl><dt>${t("Verifier")}</dt><dd>${esc(c.verifierName ?? t("not registered"))} <span class="mono">${esc(c.verifier)}</span></dd>
         <dt>${t("Purpose")}</dt><dd>${esc(c.purpose)}</dd>
         <dt>${t("Answer valid until")}</dt><dd>${new Date(c.expiresAt * 1000).toISOString().replace("T", " ").slice(0, 16)} UTC</dd></dl>
     <p id="scope" class="${v.scope.ok ? "ok" : "bad"}">${esc(v.scope.text)}</p>
     <p id="session">${v.session.value ? `<strong>${t("Session")} <span class="mono">${esc(v.session.value)}</span></strong>. ` : ""}${esc(v.session.text)}</p>
     ${v.pseudonym ? `<p id="pseudonym">${esc(v.pseudonym)}</p>` : ""}
     ${v.escrow ? `<p id="escrow" class="warning">${esc(v.escrow)}</p>` : ""}
     ${v.warnings.map((w) => `<p class="bad" role="alert">${esc(w)}</p>`).join("")}
     <section aria-labelledby="h-disclosed"><h3 id="h-disclosed">${t("Will be shown")}</h3>${list(v.disclosed, "Nothing.")}</section>
     <section aria-labelledby="h-proven"><h3 id="h-proven">${t("Will be proven, without showing the values")}</h3>${list(v.proven, "Nothing.")}</section>
     <section aria-labelledby="h-hidden"><h3 id="h-hidden">${t("Stays hidden")}</h3>${list(v.hidden, "Nothing.")}</section>
     <form id="consent">
       ${byLink && c.channel ? `<p id="origin">${t("The answer goes to {uri}, the address the verifier signed.", { uri: `<span class="mono">${esc(c.channel.responseUri)}</span>` })}</p>` : ""}
       ${pathField("save-to", t("Save a copy of the presentation to (full path, optional)"), "presentationSave")}
       <button type="submit" id="approve" ${v.canApprove ? "" : "disabled"}>${t("Approve and send")}</button>
       <button type="button" id="decline">${t("Decline")}</button>
     </form>`,
    t("Review the request"),
  );
  document.getElementById("decline")!.addEventListener("click", async () => {
    const told = await call<Sent | null>("decline", { ticket: c.ticket });
    if (told === undefined) return; // refused (a stale review, a locked wallet): the error is on screen
    say(`${t("Declined. No presentation was made.")}${told ? ` ${toldText(told)}` : ""}`);
    await credentials();
  });
  onSubmit("consent", async () => {
    say(c.tier === "unlinkable" ? t("Proving in zero knowledge… this takes a moment.") : t("Building the presentation…"));
    const a = await call<{ presentation: string; savedTo: string | null; sent: Sent | null }>(
      "approve",
      { saveTo: val("save-to") || null, ticket: c.ticket },
    );
    if (!a) return;
    if (a.sent) {
      say(a.sent.accepted ? t("Sent: the verifier accepted your answer.") : t("The verifier did not accept the answer."), a.sent.accepted ? "info" : "error");
      show(
        `<p id="sent" data-accepted="${a.sent.accepted}" class="${a.sent.accepted ? "ok" : "bad"}">${esc(a.sent.accepted ? t("The verifier accepted your answer.") : t("The verifier did not accept the answer."))}
         <br><span class="muted">${esc(t("Its words: {line}", { line: a.sent.line }))}</span></p>
         ${a.sent.accepted ? "" : `<p>${t("The presentation is below: send it another way, or open the link again.")}</p>`}
         ${a.savedTo ? `<p>${t("A copy is saved to {path}.", { path: `<span class="mono">${esc(a.savedTo)}</span>` })}</p>` : ""}
         <details><summary>${t("What was sent")}</summary><textarea id="presentation" rows="12" readonly>${esc(a.presentation)}</textarea></details>`,
        a.sent.accepted ? t("Answer sent") : t("Answer not accepted"),
      );
      return;
    }
    say(a.savedTo ? t("Presentation saved to {path}.", { path: a.savedTo }) : t("Presentation ready."));
    show(
      `<p>${a.savedTo ? t("Saved to {path}.", { path: `<span class="mono">${esc(a.savedTo)}</span>` }) : ""} ${t("Send it to the verifier, or copy it:")}</p>
       <label for="presentation">${t("Presentation")}</label>
       <textarea id="presentation" rows="12" readonly>${esc(a.presentation)}</textarea>
       <button type="button" id="copy">${t("Copy")}</button>`,
      t("Presentation ready"),
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
        <td>${esc(d.disclosed.map(([n, v]) => `${labelOf([], n)}: ${v}`).join(t(", ")) || t("nothing"))}</td>
        <td>${esc((d.statements?.length ? d.statements.map((s) => statementText(s)) : d.proven).join(t(", ")) || t("nothing"))}</td></tr>`,
    )
    .join("");
  show(
    h.length
      ? `<table id="history"><thead><tr><th scope="col">${t("When (UTC)")}</th><th scope="col">${t("To whom")}</th><th scope="col">${t("Purpose")}</th>
         <th scope="col">${t("Revealed")}</th><th scope="col">${t("Proven")}</th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p>${t("Nothing disclosed yet.")}</p>`,
    t("Disclosure history"),
  );
}

async function settingsScreen() {
  const s = await call<Status>("status");
  if (!s) return;
  show(
    `<form id="language-form"><label for="language">${t("Language / 语言")}</label>
       <select id="language"><option value="en" ${lang() === "en" ? "selected" : ""}>English</option>
         <option value="zh-CN" ${lang() === "zh-CN" ? "selected" : ""}>简体中文</option></select></form>
     <form id="settings">
       ${field("ledger", t("Ledger nodes (addresses separated by commas; the first that answers is used)"), "text", `value="${esc(s.settings.ledger)}" required`)}
       ${pathField("genesis", t("Genesis file your consortium published (full path; pinned on first use)"), "genesis", `value="${esc(s.settings.genesis ?? "")}"`)}
       ${field("fingerprint", t("Or the genesis fingerprint it published (64 hex digits)"), "text", `value="${esc(s.settings.fingerprint ?? "")}"`)}
       ${field("auto-lock", t("Lock after idle minutes (0: never)"), "number", `min="0" max="1440" value="${s.settings.autoLockMinutes}"`)}
       ${pathField("proving-key", t("Unlinkable-tier proving key file (optional)"), "provingKey", `value="${esc(s.settings.provingKey ?? "")}"`)}
       <button type="submit">${t("Save settings")}</button></form>
     <section aria-labelledby="h-trust"><h3 id="h-trust">${t("Validator set")}</h3>
       <div id="trust" aria-live="polite"><p class="muted">${t("Asking the ledger…")}</p></div></section>
     <form id="backup">${pathField("backup-path", t("Write an encrypted backup to (full path)"), "backupSave", "required")}
       <button type="submit">${t("Back up")}</button></form>
     <form id="password">${field("old-password", t("Current password"), "password", "required")}
       ${field("new-password2", t("New password"), "password", 'required minlength="8"')}
       <button type="submit">${t("Change password")}</button></form>
     <p class="muted">${t("Wallet folder:")} <span class="mono">${esc(s.dataDir)}</span></p>`,
    t("Settings"),
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
      say(t("Settings saved."));
      await showTrust();
    }
  });
  void showTrust();
  onSubmit("backup", async () => {
    const p = await call<string>("backup", { path: val("backup-path") });
    if (p) say(t("Backup written to {path}. Keep it with your recovery phrase.", { path: p }));
  });
  onSubmit("password", async () => {
    const ok = await call<null>("change_password", { old: val("old-password"), new: val("new-password2") });
    if (ok !== undefined) say(t("Password changed."));
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
  box.innerHTML = `<p>${t("Chain {chain} through {node} (at block {height}): epoch {epoch}, {count} validators. The genesis matches the pinned one (fingerprint {fp}).", {
    chain: `<strong>${esc(info.chainId)}</strong>`,
    node: esc(info.node),
    height: info.height,
    epoch: info.epoch,
    count: info.validators.length,
    fp: `<span class="mono" title="${esc(info.fingerprint)}">${shortId(info.fingerprint)}</span>`,
  })}</p>
     <table><thead><tr><th scope="col">#</th><th scope="col">${t("SM2 key")}</th><th scope="col">${t("Address")}</th></tr></thead><tbody>
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
  say(t("Locked."));
  unlockScreen();
});

/** The parts of the window outside the screens, in the current language. */
function translateShell() {
  document.documentElement.lang = lang();
  nav.setAttribute("aria-label", t("Wallet sections"));
  const names: Record<string, string> = {
    credentials: "Credentials",
    import: "Import",
    answer: "Answer a request",
    history: "History",
    settings: "Settings",
  };
  nav.querySelectorAll<HTMLButtonElement>("button[data-route]").forEach((b) => {
    b.textContent = t(names[b.dataset.route!] ?? b.textContent ?? "");
  });
  document.getElementById("lock")!.textContent = t("Lock");
  const skip = document.querySelector<HTMLAnchorElement>("a.skip");
  if (skip) skip.textContent = t("Skip to content");
}

// The language, switched in Settings: the window redraws in it at once.
document.addEventListener("change", (e) => {
  const target = e.target as HTMLSelectElement | null;
  if (target?.id !== "language") return;
  setLang(target.value as Lang);
  translateShell();
  say("");
  void settingsScreen();
});

async function start() {
  translateShell();
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
  else say(t("A verifier's link was opened with the wallet: unlock it to review the request."));
});

// The wallet locks itself after idle time; asking for the status lets it notice.
setInterval(async () => {
  const s = await invoke<Status>("status").catch(() => undefined);
  if (s && s.exists && !s.unlocked && !nav.hidden) {
    say(t("The wallet locked itself after being idle."));
    unlockScreen();
  }
}, 30_000);

void start();
