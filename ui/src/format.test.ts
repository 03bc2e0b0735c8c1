import { describe, expect, it } from "vitest";
import commandsSource from "../../src-tauri/src/lib.rs?raw";
import formatSource from "./format.ts?raw";
import { type Consent, consentView, describeError, formatDate, shortId, typeName } from "./format";

const consent: Consent = {
  verifier: "did:credence:80e79d92b26f31f50a22ff164ab585622afb95ae",
  verifierName: "Huawei Recruiting",
  purpose: "employment screening",
  tier: "selective",
  credential: {
    id: "b162c95121ce2cbc1d28a72ab2caf86cf862524f1da6ec82a05256ea56bc3565",
    credentialType: "UniversityDiploma",
    issuer: "did:credence:30aeb2bf069f9ef67557e0ace1cdb1c99a26668c",
    issuerName: "Tsinghua University",
    validFrom: 1_780_000_000,
    validUntil: null,
    anchoredAt: 4,
    status: { listId: 0, index: 0 },
    unlinkable: false,
    importedAt: 1_780_000_100,
  },
  disclosed: [["degree", "Bachelor of Engineering"]],
  proven: [{ attribute: "gpa", atLeast: "3.00", atMost: null }],
  hidden: ["gpa", "graduation_date", "major", "name", "student_id"],
  scopeViolations: [],
  revoked: false,
  expiresAt: 1_780_000_600,
  channel: null,
  nullifierScope: null,
};

describe("attribute names from the schema", () => {
  it("shows the schema's titles where it gives them, field names elsewhere", () => {
    const notes = [
      { name: "degree", title: "Degree awarded", description: "e.g. Bachelor of Engineering" },
      { name: "gpa", title: null, description: null },
    ];
    const v = consentView({ ...consent, hidden: ["gpa", "degree"] }, notes);
    expect(v.disclosed).toEqual(["Degree awarded: Bachelor of Engineering"]);
    // gpa has no title in these notes: the wallet's own name for the built-in attribute.
    expect(v.hidden).toEqual(["GPA", "Degree awarded"]);
    expect(consentView({ ...consent, hidden: ["shoe_size"] }, notes).hidden).toEqual(["shoe_size"]);
  });
});

describe("consent screen", () => {
  it("says who asks, what is shown, proven and hidden, and allows approval inside the scope", () => {
    const v = consentView(consent);
    expect(v.title).toBe("Huawei Recruiting asks for your University Diploma");
    expect(v.disclosed).toEqual(["Degree: Bachelor of Engineering"]);
    expect(v.proven).toEqual(["GPA ≥ 3.00"]);
    expect(v.hidden).toContain("Student number");
    expect(v.scope.ok).toBe(true);
    expect(v.canApprove).toBe(true);
    expect(v.warnings).toEqual([]);
  });

  it("shows the session value to compare with the verifier's screen, and what an unlinkable answer links", () => {
    const none = consentView(consent);
    expect(none.session.value).toBeNull();
    expect(none.session.text).toContain("asked this verifier for it yourself");
    expect(none.pseudonym).toBeNull();
    const v = consentView({
      ...consent,
      tier: "unlinkable",
      channel: { responseUri: "https://verify.huawei.example/v1/verify", session: "482-913" },
      nullifierScope: "huawei/v1",
    });
    expect(v.session.value).toBe("482-913");
    expect(v.session.text).toContain("https://verify.huawei.example/v1/verify");
    expect(v.pseudonym).toContain("huawei/v1");
  });

  it("says who could open an escrowed answer, and that only a public vote can", () => {
    expect(consentView(consent).escrow).toBeNull();
    const v = consentView({
      ...consent,
      tier: "unlinkable",
      nullifierScope: "bank-d/v1",
      escrow: {
        council: "regulators-2027",
        name: "Financial regulators",
        threshold: 2,
        members: ["did:credence:a", "did:credence:b", "did:credence:c"],
        handle: "customer_handle",
      },
    });
    expect(v.escrow).toContain("Financial regulators");
    expect(v.escrow).toContain("Any 2 of its 3 members");
    expect(v.escrow).toContain("did:credence:b");
    expect(v.escrow).toContain("public governance vote");
    expect(v.escrow).toContain("customer_handle");
  });

  it("refuses approval outside the registered scope and warns loudly", () => {
    const v = consentView({ ...consent, scopeViolations: [{ code: "disclose", attribute: "student_id" }], revoked: true, verifierName: null });
    expect(v.canApprove).toBe(false);
    expect(v.scope.text).toContain('it may not ask to see "Student number"');
    expect(v.warnings.join(" ")).toContain("revoked");
    expect(v.warnings.join(" ")).toContain("not registered");
    expect(v.title).toContain("unregistered verifier");
  });
});

describe("formatting", () => {
  it("turns command errors into sentences", () => {
    expect(describeError({ code: "wrong_password", message: "the password does not open this wallet" })).toContain(
      "Nothing was changed",
    );
    expect(describeError({ code: "other", message: "exact message" })).toBe("exact message");
    // A message that is the hint itself is said once.
    expect(describeError({ code: "locked", message: "The wallet is locked. Enter your password to unlock it." })).toBe(
      "The wallet is locked. Enter your password to unlock it.",
    );
    expect(describeError("plain")).toBe("plain");
    expect(describeError(42)).toContain("Try again");
  });

  it("formats dates, ids and type names", () => {
    expect(formatDate(0)).toBe("1970-01-01");
    expect(formatDate(null)).toBe("no end date");
    expect(shortId("0123456789abcdef0123")).toBe("01234567…ef0123");
    expect(typeName("KycAttestation")).toBe("Kyc Attestation");
  });
});

describe("errors", () => {
  it("has a hint, in words for the holder, for every error code the commands return", () => {
    const codes = new Set<string>();
    for (const m of commandsSource.matchAll(/CommandError::new\(\s*"([a-z_]+)"|=> "([a-z_]+)"/g)) codes.add(m[1] ?? m[2]);
    expect(codes.size).toBeGreaterThan(20);
    const hints = formatSource.slice(formatSource.indexOf("const HINTS"), formatSource.indexOf("};", formatSource.indexOf("const HINTS")));
    const missing = [...codes].filter((c) => !new RegExp(`\\b${c}:`).test(hints));
    expect(missing).toEqual([]);
  });
});
