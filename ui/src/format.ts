// Pure helpers the screens use: plain-language errors, dates, consent sections.

import { attributeName, lang, t, typeLabel } from "./i18n";

export interface CommandError {
  code: string;
  message: string;
}

export interface Summary {
  id: string;
  credentialType: string;
  issuer: string;
  issuerName: string;
  validFrom: number;
  validUntil: number | null;
  anchoredAt: number;
  status: { listId: number; index: number };
  unlinkable: boolean;
  importedAt: number;
}

export interface Consent {
  verifier: string;
  verifierName: string | null;
  purpose: string;
  tier: "selective" | "unlinkable";
  credential: Summary;
  disclosed: [string, string][];
  proven: Statement[];
  hidden: string[];
  scopeViolations: ScopeViolation[];
  revoked: boolean;
  expiresAt: number;
  channel: { responseUri: string; session: string } | null;
  nullifierScope: string | null;
  /** Unlinkable tier: the regulator council the verifier requires the identity handle escrowed to. */
  escrow?: EscrowConsent | null;
}

/** What a credential's schema says of an attribute. */
export interface AttributeNote {
  name: string;
  title: string | null;
  description: string | null;
  /** The title and description in other languages (`x-credence-l10n`). */
  translations?: { lang: string; title: string | null; description: string | null }[];
}

/** The note's title and description in the screen's language, where the schema gives them. */
function localized(note: AttributeNote | undefined): { title: string | null; description: string | null } {
  if (!note) return { title: null, description: null };
  const want = lang().toLowerCase();
  const primary = want.split("-")[0];
  const all = note.translations ?? [];
  // The exact tag, else the bare language, else another tag of the same language.
  const tr =
    all.find((x) => x.lang.toLowerCase() === want) ??
    all.find((x) => x.lang.toLowerCase() === primary) ??
    all.find((x) => x.lang.toLowerCase().split("-")[0] === primary);
  return { title: tr?.title ?? note.title, description: tr?.description ?? note.description };
}

/** What the schema says an attribute is, in the screen's language (`null`: nothing). */
export function aboutOf(notes: AttributeNote[], name: string): string | null {
  return localized(notes.find((n) => n.name === name)).description;
}

/** A statement proven without showing the value (the wallet's `tier::Statement`). */
export interface Statement {
  attribute: string;
  atLeast: string | null;
  atMost: string | null;
}

/** One way a request goes beyond what its verifier registered (the wallet's `ScopeViolation`). */
export type ScopeViolation =
  | { code: "notRegistered"; verifier: string }
  | { code: "otherKey" }
  | { code: "purpose"; purpose: string; registered: string[] }
  | { code: "credentialType"; credentialType: string }
  | { code: "disclose"; attribute: string }
  | { code: "predicate"; attribute: string }
  | { code: "twoBounds"; attribute: string }
  | { code: "narrowRange"; attribute: string; width: number; minWidth: number };

/** A statement in words, the attribute named by its schema: `GPA ≥ 3.00`. */
export function statementText(s: Statement, notes: AttributeNote[] = []): string {
  const a = labelOf(notes, s.attribute);
  if (s.atLeast !== null && s.atMost !== null) return `${s.atLeast} ≤ ${a} ≤ ${s.atMost}`;
  if (s.atLeast !== null) return `${a} ≥ ${s.atLeast}`;
  if (s.atMost !== null) return `${a} ≤ ${s.atMost}`;
  return a;
}

/** Where a request goes beyond the verifier's registration, in the screen's language. */
export function violationText(v: ScopeViolation, notes: AttributeNote[] = []): string {
  switch (v.code) {
    case "notRegistered":
      return t("{verifier} is not a verifier registered on the ledger", { verifier: v.verifier });
    case "otherKey":
      return t("the request is not signed with the verifier's registered key");
    case "purpose":
      return t('purpose "{purpose}" is not one of its registered purposes ({registered})', {
        purpose: v.purpose,
        registered: v.registered.join(t(", ")),
      });
    case "credentialType":
      return t("it may not ask for {type} credentials", { type: typeName(v.credentialType) });
    case "disclose":
      return t('it may not ask to see "{attribute}"', { attribute: labelOf(notes, v.attribute) });
    case "predicate":
      return t('it may not ask for a proof about "{attribute}"', { attribute: labelOf(notes, v.attribute) });
    case "twoBounds":
      return t('it asks for "{attribute}" between two bounds, which can reveal the value; it registered one bound only', {
        attribute: labelOf(notes, v.attribute),
      });
    case "narrowRange":
      return t(
        'it asks for "{attribute}" within a range {width} wide, which can reveal the value; it registered ranges at least {min} wide',
        { attribute: labelOf(notes, v.attribute), width: v.width, min: v.minWidth },
      );
    default:
      return t("the request goes beyond what the verifier registered");
  }
}

/** An attribute's name as its schema titles it (else as the wallet names a built-in one, else its field name). */
export function labelOf(notes: AttributeNote[], name: string): string {
  return localized(notes.find((n) => n.name === name)).title ?? attributeName(name) ?? name;
}

export interface EscrowConsent {
  council: string;
  name: string;
  threshold: number;
  members: string[];
  handle: string;
}

export interface Disclosure {
  at: number;
  verifier: string;
  verifierName: string | null;
  purpose: string;
  credential: string;
  credentialType: string;
  tier: string;
  disclosed: [string, string][];
  proven: string[];
  /** `proven` in parts (absent from entries written before December 2026). */
  statements?: Statement[];
  request: string;
}

const HINTS: Record<string, string> = {
  locked: "The wallet is locked. Enter your password to unlock it.",
  wrong_password: "That password does not open this wallet. Nothing was changed.",
  weak_password: "Choose a password of at least 8 characters.",
  ledger: "The ledger could not be reached or did not prove its answer.",
  out_of_scope: "This verifier asked for more than it registered, so the wallet refused.",
  unknown_credential: "That credential is not in this wallet; the Credentials screen lists them.",
  proving_key_needed: "An anonymous answer needs the circuit's proving key: choose its file in Settings.",
  trust_damaged:
    "The file that records which consortium this wallet trusts is damaged. Delete trust.json in the wallet folder, then set the genesis file or fingerprint again in Settings.",
  unknown_schema: "This credential's schema is neither built in nor published on the ledger, so it cannot be shown or presented.",
  bad_credential: "This is not a credential the wallet can take.",
  bad_link: "This link is not one the wallet can open.",
  bad_offer: "The issuer's offer could not be read.",
  bad_phrase: "The recovery phrase is not valid: check each word.",
  bad_request: "This request cannot be answered.",
  bad_settings: "The settings need a correction.",
  exchange: "The exchange with the other party failed.",
  internal: "Something went wrong inside the wallet.",
  io: "A file could not be read or written.",
  issuer_refused: "The issuer refused.",
  no_dialog: "This window cannot show file dialogs: type the full path.",
  no_match: "No credential in this wallet fits the request.",
  no_request: "There is no request waiting for an answer.",
  no_wallet: "There is no wallet in this folder yet.",
  not_anchored: "The ledger does not show this credential as issued.",
  not_mine: "This credential was issued to another wallet.",
  phrase_mismatch: "The words do not match the recovery phrase shown.",
  proving_key: "The proving key file cannot be used.",
  stale_request: "This request is no longer the one under review: open it again.",
  unreachable: "The other party could not be reached.",
  unsatisfied: "Your credential does not meet what the request asks.",
  untrusted: "No consortium is trusted for this node.",
  wallet: "The wallet could not do that.",
  wallet_exists: "A wallet already exists in this folder.",
};

/** A sentence for any error a command returns (or anything thrown). */
export function describeError(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) {
    const err = e as CommandError;
    const en = err.code ? HINTS[err.code] : undefined;
    if (!en) return err.message;
    // The hint in the screen's language; the detail (the library's English) after it.
    const hint = t(en);
    const detail = err.message.startsWith(en) ? err.message.slice(en.length).trim() : err.message;
    return detail ? `${hint} (${detail})` : hint;
  }
  if (typeof e === "string") return e;
  return t("Something went wrong. Try again.");
}

/** A Unix time as a readable UTC date. */
export function formatDate(secs: number | null | undefined): string {
  if (secs === null || secs === undefined) return t("no end date");
  return new Date(secs * 1000).toISOString().slice(0, 10);
}

/** A long identifier shortened for a card, the full value kept for screen readers. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** Human names of credential types. */
export function typeName(type: string): string {
  return typeLabel(type, type.replace(/([a-z])([A-Z])/g, "$1 $2"));
}

export interface ConsentView {
  title: string;
  disclosed: string[];
  proven: string[];
  hidden: string[];
  scope: { ok: boolean; text: string };
  /** Where the answer goes and the session value to compare with the verifier's screen. */
  session: { value: string | null; text: string };
  /** Unlinkable tier: what this verifier can link. */
  pseudonym: string | null;
  /** Unlinkable tier with escrow: who could open the answer, and how. */
  escrow: string | null;
  warnings: string[];
  canApprove: boolean;
}

/** What the consent screen shows, in words. */
export function consentView(c: Consent, notes: AttributeNote[] = []): ConsentView {
  const who = c.verifierName ?? t("An unregistered verifier");
  const scopeOk = c.scopeViolations.length === 0;
  const warnings: string[] = [];
  if (c.revoked) warnings.push(t("The issuer has revoked this credential: the verifier will refuse it."));
  if (!c.verifierName) warnings.push(t("This verifier is not registered on the ledger."));
  return {
    title: t("{who} asks for your {type}", { who, type: typeName(c.credential.credentialType) }),
    disclosed: c.disclosed.map(([n, v]) => `${labelOf(notes, n)}: ${v}`),
    proven: c.proven.map((p) => statementText(p, notes)),
    hidden: c.hidden.map((n) => labelOf(notes, n)),
    scope: scopeOk
      ? { ok: true, text: t("The request stays inside what this verifier registered on the ledger.") }
      : { ok: false, text: t("Outside its registered scope: {what}", { what: c.scopeViolations.map((v) => violationText(v, notes)).join(t("; ")) }) },
    session: c.channel
      ? {
          value: c.channel.session,
          text: t(
            "Answer only if the verifier's screen shows this session: a request someone else started and forwarded to you shows theirs. The verifier asks that the answer be sent to {uri}.",
            { uri: c.channel.responseUri },
          ),
        }
      : { value: null, text: t("This request names no session: answer it only if you asked this verifier for it yourself.") },
    pseudonym: c.nullifierScope
      ? t('This verifier will recognise your unlinkable answers to it as coming from one person (its scope "{scope}"); no other verifier can link them.', {
          scope: c.nullifierScope,
        })
      : null,
    escrow: c.escrow
      ? t(
          'Your {handle} goes into this answer encrypted to the regulator council "{name}" ({council}). Any {threshold} of its {count} members ({members}) can open it, and only after a public governance vote on the ledger, where every opening stays visible. The verifier itself cannot read it.',
          {
            handle: c.escrow.handle,
            name: c.escrow.name,
            council: c.escrow.council,
            threshold: c.escrow.threshold,
            count: c.escrow.members.length,
            members: c.escrow.members.join(t(", ")),
          },
        )
      : null,
    warnings,
    canApprove: scopeOk,
  };
}
